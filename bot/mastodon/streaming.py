"""The Mastodon adapter's user stream: `listen` wakes the worker on each notification and edit; polling stays
the source of truth."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import requests
from mastodon import StreamListener

from bot.mastodon.transport import Connection

log = logging.getLogger("bot.mastodon.client")  # the adapter's one log, whichever part writes it

STREAM_READ_TIMEOUT = 300.0  # seconds without a byte (Mastodon sends a heartbeat every few seconds)


class Streaming(Connection):
    """Following the user stream; the health of the streaming server."""

    def _streaming_base(self) -> str:
        """The streaming server's address (the instance's configuration.urls.streaming, as http(s))."""
        instance = self._read("instance", self.api.instance_v2)
        base = str(((instance.get("configuration") or {}).get("urls") or {}).get("streaming") or "")
        return base.replace("wss://", "https://", 1).replace("ws://", "http://", 1).rstrip("/")

    def streaming_healthy(self) -> bool:
        """Whether the instance's streaming server answers its health check (for `paybot doctor`)."""
        base = self._streaming_base()
        if not base:
            return False
        try:
            resp = self.api.session.get(f"{base.rstrip('/')}/api/v1/streaming/health", timeout=self.timeout)
        except requests.RequestException:
            return False
        return resp.ok and resp.text.strip() == "OK"

    def listen(self, on_event: Callable[[], None], *, reconnect_after: float = 5.0) -> Callable[[], None]:
        """Follow the user stream (server-sent events) on a daemon thread and call `on_event` for each new
        notification: the worker then reads at once instead of at its next poll. The stream only wakes the
        reading; what was said is read by `mentions` and `dm_events` as always (polling stays the source of
        truth, and the catch-up after downtime). A dropped stream is opened again after `reconnect_after`
        seconds. Returns the function that stops it."""
        stopping = threading.Event()
        current: list[requests.Response] = []
        token = str(self.api.access_token)

        class Wake(StreamListener):
            def on_notification(self, notification: Any) -> None:
                on_event()

            def on_status_update(self, status: Any) -> None:
                on_event()  # an edit of a status the bot can see (maybe a command): read the mentions again

            def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
                pass  # new kinds of events are not paybot's business

        def follow() -> None:
            while not stopping.is_set():
                try:
                    url = f"{self._streaming_base() or self.api.api_base_url}/api/v1/streaming/user"
                    resp = self.api.session.get(
                        url,
                        headers={"Authorization": f"Bearer {token}"},
                        stream=True,
                        timeout=(self.timeout, STREAM_READ_TIMEOUT),
                    )
                    current[:] = [resp]
                    if resp.ok:
                        with resp:
                            Wake().handle_stream(resp)  # type: ignore[no-untyped-call]
                    else:
                        log.warning("the streaming server answered %s; polling only meanwhile", resp.status_code)
                except Exception as err:  # a stream that drops is opened again; polling goes on meanwhile
                    if not stopping.is_set():
                        log.info("the user stream dropped (%s); opening it again", type(err).__name__)
                stopping.wait(reconnect_after)

        def stop() -> None:
            stopping.set()
            for resp in current:
                resp.close()

        threading.Thread(target=follow, name="mastodon-stream", daemon=True).start()
        return stop
