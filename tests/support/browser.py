"""Chromium for the pages' browser tests (Debian's, headless, through Playwright; the fixture browser) and what those
tests check on every page: a phone's screen, axe-core's accessibility checks, a screenshot."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "browser-screenshots"
PHONE = "Pixel 7"
# axe-core's rules for WCAG 2.1 A and AA, and its best practices.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless; the tests skip with the reason when it cannot start. (Playwright is imported
    here, not on import: every test run loads this module, as a plugin of tests/conftest.py.)"""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extras)")
    with playwright_api.sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except playwright_api.Error as err:  # missing, not executable, or it died starting
            pytest.skip(f"Chromium cannot start ({CHROMIUM}): {str(err).splitlines()[0]}")
        chromium.devices = p.devices
        yield chromium
        chromium.close()


def phone(browser: Any, lang: str) -> Any:
    """A new phone-sized page whose browser speaks `lang` (a person's own phone: no cookies yet)."""
    device = {**browser.devices[PHONE], "device_scale_factor": 1}
    context = browser.new_context(**device, locale={"en": "en-GB", "fr": "fr-FR"}[lang])
    page = context.new_page()
    page.csp_errors = []
    page.on("console", lambda m: page.csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def accessible(page: Any) -> None:
    """axe-core finds no serious or critical violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], page.url


def heading(page: Any) -> str:
    return str(page.locator("h1").inner_text())
