"""Helpers for the tests that drive the live page in Debian's headless Chromium (Playwright's sync API)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

from tests.daemon_proc import clean_env
from tests.tools import require_tool

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def page_env(port: int, db_url: str, simulator: str, languages: str) -> dict[str, str]:
    """A daemon on loopback for a browser: the test's database and simulator, no scheduled rounds."""
    return clean_env(PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=db_url, JIOSAAVN_BASE_URL=simulator,
                     VIBED_LANGUAGES=languages, VIBED_SCHEDULE="0 0 1 1 *")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (a skip with the install command when it is missing, a failure on CI)."""
    executable = require_tool(CHROMIUM, "needs Debian's chromium: apt-get install chromium")
    from playwright import sync_api  # in the test extras

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
