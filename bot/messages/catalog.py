"""Every sentence the bot says, by key: (English, French). One module per topic; the keys are unique across them
(a key said twice would hide a sentence, and is refused here)."""

from bot.messages import asking, cashout, dms, outcomes, reading

_TOPICS = (reading.SENTENCES, asking.SENTENCES, outcomes.SENTENCES, dms.SENTENCES, cashout.SENTENCES)

CATALOG: dict[str, tuple[str, str]] = {key: said for topic in _TOPICS for key, said in topic.items()}
if len(CATALOG) != sum(len(topic) for topic in _TOPICS):  # not an assert: -O must not remove it
    raise RuntimeError("a sentence key is in two topics of bot.messages")
