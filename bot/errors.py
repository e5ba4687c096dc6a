"""paybot's errors, as a tree.

PaybotError
├── ConfigError            a setting is missing, a placeholder, or invalid
├── CommandError           a tweet or DM could not be read; .message is for the user
├── IllegalTransition      a lifecycle's state machine refused a change of state
├── AnswerInDoubt          a yes/no judged later: its confirmation's send, or earlier posts, not settled yet
├── XError                 talking to X failed
│   ├── XAuthError         401: bad credentials
│   ├── XForbidden         403: .reason is "duplicate", "dm_closed" or "other"
│   ├── XRateLimited       429: .reset_at (UTC) and .capped (monthly usage cap)
│   └── XTransient         5xx, timeout, connection error: worth retrying
└── ProviderError          the payment provider failed
    ├── ProviderTransient  may have succeeded or not: retry with the same key
    ├── AmountTooSmall     below the provider's smallest charge (after any conversion)
    ├── InsufficientBalance  the platform's balance cannot cover a release now: nothing moved
    ├── IdempotencyError   the same key was used with other parameters
    └── ScaRequired        the account's holder must pass the provider's SCA first (.url); not a credential error
"""

from __future__ import annotations

from datetime import datetime


class PaybotError(Exception):
    """Base of every error paybot raises on purpose."""


class AnswerInDoubt(PaybotError):
    """A yes or no that cannot be judged yet, for one of two reasons its message names: it may answer a
    confirmation whose send is in doubt (it timed out or the worker died around it), so whether the person saw it
    is not known yet; or it was sent after the last reading of mentions (less the answer margin), so an edit or a
    post sent before it may not be read yet. The DM is left unread, to be judged once that is settled."""


class ConfigError(PaybotError):
    """A setting is missing or invalid; the message names the setting."""


class CommandError(PaybotError):
    """A command could not be understood or is refused.

    `key` names the sentence in bot.messages' catalog and `params` fill it in;
    `message` is that sentence in `lang`, ready for the user.
    """

    def __init__(self, key: str, *, lang: str = "en", quiet: bool = False, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.lang = lang
        self.params = params
        # quiet: the text was not a command at all (chatter, a repost); the bot
        # does not answer it, but `paybot parse` still reports why.
        self.quiet = quiet

    @property
    def message(self) -> str:
        from bot.messages import text

        return text(self.key, self.lang, **self.params)

    def __str__(self) -> str:
        return self.message


class IllegalTransition(PaybotError):
    """Something with a lifecycle (a transfer, a settlement, a payout, an outbox message, a card or identity
    registration) was asked to move to a state its current one does not allow, or to begin in a state nothing
    begins in. `lifecycle` names which; `current` is None for a beginning."""

    def __init__(
        self, message: str, *, lifecycle: str = "transfer", current: str | None = None, new: str | None = None
    ) -> None:
        super().__init__(message)
        self.lifecycle = lifecycle
        self.current = current
        self.new = new


class XError(PaybotError):
    """Talking to X failed."""


class XAuthError(XError):
    """X refused the credentials (401)."""


class XForbidden(XError):
    """X refused the action (403)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class XRateLimited(XError):
    """X answered 429: a rate limit (resets at `reset_at`) or a usage cap."""

    def __init__(self, message: str, *, reset_at: datetime | None, capped: bool) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.capped = capped


class XTransient(XError):
    """A 5xx, timeout or connection error: the request may be retried."""


class ProviderError(PaybotError):
    """The payment provider failed."""


class ProviderTransient(ProviderError):
    """The provider call may or may not have happened; retry with the same key."""


class AmountTooSmall(ProviderError):
    """The provider refuses to charge so little (Stripe's minimum charge, after any currency conversion)."""


class InsufficientBalance(ProviderError):
    """The provider refused to pay out because the platform's balance cannot cover it now (Stripe's
    balance_insufficient). Nothing moved; the held money stays held and the release is tried again later,
    with a new key (a provider may keep the refusal under the first one)."""


class Undeliverable(ProviderError):
    """The provider will never release this held money to its recipient (Mangopay: the sender is an Owner
    who gave no standing consent for transfers made without them). Nothing moved; the money can only go
    back to its sender, which paybot then does at once."""


class IdempotencyError(ProviderError):
    """An idempotency key was reused with different parameters."""


class ScaRequired(ProviderError):
    """The provider wants the account's holder to pass its strong customer authentication before this call (Mangopay:
    a 401 on an Owner's wallet or transactions, the session's link in WWW-Authenticate). Not bad credentials, and
    asking again changes nothing until the person does it: `url` is their page (without the return address)."""

    def __init__(self, url: str) -> None:
        super().__init__("the account holder must pass the provider's strong customer authentication first")
        self.url = url
