"""The X API simulator, served on 127.0.0.1: its routes (routes.py) over its posts and state."""

from __future__ import annotations

from flask import Flask

from bot.sims.x.posts import XPosts
from bot.sims.x.routes import build


class XSim(XPosts):
    """The simulated X: state, a Flask app over it, and control methods."""

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.server.stop()

    def app(self) -> Flask:
        """The Flask application: X's endpoints and the /_sim control API."""
        return build(self)
