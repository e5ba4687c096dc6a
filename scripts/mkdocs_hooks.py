"""mkdocs hooks (mkdocs.yml `hooks:`): the command reference is rendered from the grammar at every build.

docs/commands/reference.md is the generator's output, committed so that it reads on its own; the site never
shows a stale copy of it, because the build renders the page from `command_reference.generate()` instead of
the file. (tests/unit/test_docs.py checks that the committed file is current too.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import command_reference  # beside this file, in scripts/


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """The reference page as the grammar and `paybot parse` make it today; any other page unchanged."""
    if page.file.src_uri == "commands/reference.md":
        return command_reference.generate()
    return markdown
