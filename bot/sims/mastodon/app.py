"""The Mastodon simulator, served on 127.0.0.1: its routes (routes.py) over its statuses and state."""

from __future__ import annotations

from flask import Flask

from bot.sims.mastodon.routes import build
from bot.sims.mastodon.statuses import MastodonStatuses


class MastodonSim(MastodonStatuses):
    """The simulated Mastodon instance: state, a Flask app over it, and control methods."""

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.closing.clear()
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.closing.set()  # the user streams end, so that their threads do not hold the server
        self.server.stop()

    def app(self) -> Flask:
        """The Flask application: Mastodon's endpoints and the /_sim control API."""
        return build(self)
