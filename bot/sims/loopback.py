"""Serving a simulator's Flask app on 127.0.0.1 from a background thread (the X and Stripe simulators)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


class LoopbackServer:
    """Mixin: `start` serves `app()` on 127.0.0.1 in a daemon thread, `stop` shuts it down."""

    thread_name = "simulator"
    _server: Any = None
    base = ""

    def app(self) -> Flask:
        raise NotImplementedError

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 in a background thread; returns the base URL."""
        self._server = make_server("127.0.0.1", port, self.app(), threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name=self.thread_name).start()
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        return self.base

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
