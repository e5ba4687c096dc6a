"""`paybot` run in the test's process: what `python -m bot ARGS` does (bot.cli.main, its umask and its one-line
store errors included), on click's CliRunner isolation (stdin, stdout and stderr apart, the environment), without
the second or so a new interpreter takes to import paybot. The root logger starts as in a new interpreter (no
handler, WARNING), so a stray log line lands on the command's standard error as it would in a process. What a
command changes for the whole process (the root logger's handlers and level, the quiet libraries' levels, the
umask, the working directory) is put back after it, so one command leaves nothing to the next or to the test.

`python -m bot` itself, as a process, is tested in tests/e2e/test_cli.py and by a few tests of test_admin.py."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from bot import logs


@dataclass(frozen=True)
class Done:
    """What a `subprocess.run(..., capture_output=True, text=True)` of the command would have held."""

    returncode: int
    stdout: str
    stderr: str


def paybot_in_process(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = (),
    stdin: str | None = None,
) -> Done:
    """`paybot ARGS` in `cwd`, with `env` set over the environment and every variable starting with one of `drop`
    unset (as a subprocess given that environment would see it)."""
    from bot.cli import main

    changes: dict[str, str | None] = {k: None for k in os.environ if drop and k.startswith(drop)}
    changes |= dict(env or {})
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET}
    umask = os.umask(0o022)
    os.umask(umask)
    argv, here = sys.argv, Path.cwd()
    os.chdir(cwd)
    # The root logger as a new interpreter has it: no handler (pytest's log capture is taken off, so a record logged
    # before paybot sets its own handler reaches standard error through logging's last resort, as in a process),
    # at WARNING.
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    code: int = 0
    try:
        with CliRunner().isolation(input=stdin, env=changes) as (out, err, _):
            sys.argv = ["paybot", *args]
            try:
                main()
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode("utf-8", "backslashreplace")
    finally:
        sys.argv = argv
        os.chdir(here)
        os.umask(umask)
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)
    return Done(code, stdout, stderr)
