"""The one place that meets tweepy, the provider and the engine: it wires the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import migrate
from bot.config import Settings, parse_duration
from bot.domain import CodeFactory, Policy, random_code
from bot.domain.marks import Mark
from bot.errors import ConfigError
from bot.ports import Clock, PaymentProvider, SystemClock, Timeline
from bot.providers.sandbox import SandboxProvider
from bot.repo.engine import Engine, database_url, make_engine
from bot.repo.port import Store
from bot.repo.sql import SqlStore
from bot.service import Service
from bot.worker import Worker
from bot.x.client import XClient


@dataclass
class Bot:
    engine: Engine
    worker: Worker
    service: Service
    provider: PaymentProvider

    def close(self) -> None:
        self.engine.dispose()
        if isinstance(self.worker.timeline, XClient):
            self.worker.timeline.close()  # the connections kept to X
        close = getattr(self.provider, "close", None)
        if close is not None and self.provider.name != "sandbox":
            close()  # the sandbox given by a caller stays the caller's to close


def policy_from(settings: Settings, provider: PaymentProvider | None = None) -> Policy:
    """The limits from settings; the provider's own smallest charge per currency raises the minimum."""
    return Policy(
        min_minor=settings.minor("paybot_min_transfer"),
        max_minor=settings.minor("paybot_max_transfer"),
        daily_max_minor=settings.minor("paybot_daily_max"),
        confirm_ttl=parse_duration(settings.paybot_confirm_ttl),
        request_ttl=parse_duration(settings.paybot_request_ttl),
        claim_window=parse_duration(settings.paybot_claim_window),
        cashout_hold=parse_duration(settings.paybot_cashout_hold),
        cashouts_per_day=settings.paybot_cashouts_per_day,
        currency_min=dict(provider.min_charge) if provider is not None else {},
        dm_answers_per_hour=settings.paybot_dm_answers_per_hour,
        requests_per_hour=settings.paybot_requests_per_hour,
        requests_per_payer_day=settings.paybot_requests_per_payer_day,
        strangers_per_day=settings.paybot_strangers_per_day,
        sends_per_hour=settings.paybot_sends_per_hour,
        pending_sends=settings.paybot_pending_sends,
        pending_sends_no_card=settings.paybot_pending_sends_no_card,
    )


def x_client(settings: Settings, clock: Clock) -> XClient:
    creds = settings.require_x()
    return XClient(
        **creds,
        base_url=settings.x_api_base,
        timeout=settings.x_timeout,
        dm_page_size=settings.paybot_dm_page_size,
        clock=clock,
    )


def make_timeline(settings: Settings, clock: Clock) -> Timeline:
    """The timeline PAYBOT_TIMELINE names: X (the default) or the bot's Mastodon instance."""
    if settings.paybot_timeline == "mastodon":
        from bot.mastodon.client import MastodonTimeline

        base, token = settings.require_mastodon()
        return MastodonTimeline(
            base_url=base,
            access_token=token,
            timeout=settings.x_timeout,
            clock=clock,
            dm_page_size=settings.paybot_dm_page_size,
        )
    return x_client(settings, clock)


def make_provider(settings: Settings, clock: Clock) -> PaymentProvider:
    """The configured payment provider: the sandbox, Stripe or Mangopay (ConfigError for a bad or live key)."""
    if settings.paybot_provider == "stripe":
        from bot.providers.stripe import StripeProvider

        return StripeProvider.from_settings(settings, clock)
    if settings.paybot_provider == "mangopay":
        from bot.providers.mangopay_provider import MangopayProvider

        return MangopayProvider.from_settings(settings, clock)
    return SandboxProvider(settings.sandbox_db_path)


def _pages(settings: Settings, service: Service, provider: PaymentProvider, clock: Clock) -> None:
    """With paybot's pages served (PAYBOT_WEB_URL and PAYBOT_LINK_SECRET set), the service makes their links; on
    Mangopay, REGISTER then sends paybot's own card page (bot.web.card_page) rather than MANGOPAY_CARD_PAGE_URL."""
    if not settings.paybot_web_url or not settings.paybot_link_secret:
        return
    from bot import links
    from bot.web import page_links

    base, secret = settings.require_web()
    service.page_link = page_links.maker(links.link_key(secret), base, parse_duration(settings.paybot_link_ttl), clock)
    if settings.paybot_provider == "mangopay":
        provider.own_card_page = True  # type: ignore[attr-defined]


def service_from(
    settings: Settings,
    uow: Store,
    provider: PaymentProvider,
    clock: Clock,
    bot_id: str,
    *,
    new_code: CodeFactory = random_code,
) -> Service:
    """The use cases on these ports, as the settings shape them: the worker's, and the operator commands' and the
    web server's own (a process of their own has a service of its own)."""
    return Service(
        uow=uow,
        provider=provider,
        clock=clock,
        policy=policy_from(settings, provider),
        bot_id=bot_id,
        bot_handle=settings.paybot_handle,
        currency=settings.paybot_currency,
        enabled=settings.enabled_currencies(),
        new_code=new_code,
        fediverse=settings.paybot_timeline == "mastodon",
    )


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    timeline: Timeline | None = None,
    provider: PaymentProvider | None = None,
    new_code: CodeFactory = random_code,
    migrate_schema: bool = False,
) -> Bot:
    """Build the bot from settings; any port may be given instead (tests, simulate).

    `migrate_schema` upgrades the store with its migrations (`paybot run`);
    otherwise missing tables are created from the models."""
    clock = clock or SystemClock()
    engine = make_engine(database_url(settings.database_url, settings.paybot_db_path), create_tables=not migrate_schema)
    if migrate_schema:
        migrate.upgrade(engine)
    uow = SqlStore(engine)
    timeline = timeline or make_timeline(settings, clock)
    if provider is None:
        try:
            provider = make_provider(settings, clock)
        except ConfigError:
            engine.dispose()
            raise
    with uow() as s:
        bot_id = s.checkpoints.get(Mark.BOT_ID)
    if bot_id is None:
        me = timeline.me()
        if me.handle.lower() != settings.paybot_handle.lower():
            engine.dispose()
            raise ConfigError(
                f"PAYBOT_HANDLE is @{settings.paybot_handle} but the X credentials are those of @{me.handle}"
            )
        bot_id = me.id
        with uow() as s:
            s.checkpoints.set(Mark.BOT_ID, bot_id)
            s.commit()
    service = service_from(settings, uow, provider, clock, bot_id, new_code=new_code)
    _pages(settings, service, provider, clock)
    idle = settings.paybot_dms_idle_interval
    worker = Worker(
        service=service,
        timeline=timeline,
        uow=uow,
        clock=clock,
        started_at=first_start(uow, clock),
        dm_idle_interval=timedelta(seconds=idle) if idle else None,
        lease_ttl=timedelta(seconds=settings.paybot_lease_ttl),
        read_margin=parse_duration(settings.paybot_answer_margin),
    )
    return Bot(engine=engine, worker=worker, service=service, provider=provider)


def first_start(uow: Store, clock: Clock) -> datetime:
    """When this store first ran a worker (recorded once); older posts and DMs are history."""
    with uow() as s:
        raw = s.checkpoints.get(Mark.STARTED_AT)
        if raw is None:
            # X stamps posts and DMs to the millisecond: a post made in the same millisecond as
            # the start must not read as older than it.
            now = clock.now()
            raw = now.replace(microsecond=now.microsecond // 1000 * 1000).isoformat()
            s.checkpoints.set(Mark.STARTED_AT, raw)
            s.commit()
    return datetime.fromisoformat(raw)
