"""Shared fixtures: the ``jmmc_devtools`` pytest plugin (registered by entry point) gives the
PostgreSQL ones; the headless browser is registered here once, so the whole session shares one
Chromium (a second Playwright started while the first runs would fail)."""

from tests.browser_fixture import browser, page  # noqa: F401  (session-wide fixtures)
