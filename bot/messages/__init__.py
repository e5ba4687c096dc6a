"""Every sentence the bot says on X and Mastodon, in English and French, in one place.

`text(key, lang, **params)` renders one; Money and datetime parameters are
formatted for the language. A command written in French (its verb, or a
French DM word) is answered in French.

Public replies never contain a link (a post with a URL costs $0.20 and reads
like spam); links go by DM. Replies carry the request's code so that two
equal payments on one day are not refused by X as duplicate content.

Only placeholders bring @handles into a sentence (the bot, the people it is
about): an example names nobody who could exist on X, since anyone can own
@alice, or have told the bot STOP. An example recipient is written `@…`,
which X makes no mention of (a mention is @ followed by [A-Za-z0-9_]).

The sentences are in one module per topic (`reading`, `asking`, `outcomes`, `dms`, `cashout`), joined in
`catalog.CATALOG`; `render` says them and holds the words they are made of. Every name is importable from
`bot.messages`.
"""

from bot.messages.catalog import CATALOG
from bot.messages.render import (
    LANGS,
    LINK,
    NAME_MAX,
    NAME_WORDS,
    NAMES_THE_TIMELINE,
    POST_MAX,
    PUBLIC_MEMO_MAX,
    REASONS_FR,
    STATUS_WORDS,
    day,
    duration,
    fits,
    handles,
    listing,
    on_timeline,
    plain_name,
    public_memo,
    reason,
    span,
    status_word,
    text,
    weighted_length,
    who,
    without_links,
)

__all__ = [
    "CATALOG",
    "LANGS",
    "LINK",
    "NAMES_THE_TIMELINE",
    "NAME_MAX",
    "NAME_WORDS",
    "POST_MAX",
    "PUBLIC_MEMO_MAX",
    "REASONS_FR",
    "STATUS_WORDS",
    "day",
    "duration",
    "fits",
    "handles",
    "listing",
    "on_timeline",
    "plain_name",
    "public_memo",
    "reason",
    "span",
    "status_word",
    "text",
    "weighted_length",
    "who",
    "without_links",
]
