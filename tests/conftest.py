"""Shared fixtures: the ``jmmc_devtools`` pytest plugin (registered by entry point) gives the
PostgreSQL ones; the headless browser is registered here once, so the whole session shares one
Chromium (a second Playwright started while the first runs would fail)."""

import shutil
import tempfile

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.browser_fixture import browser, page  # noqa: F401  (session-wide fixtures)


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis keeps its files (an examples database, a constants cache) in a temporary
    # folder of the session instead of the working tree.
    folder = tempfile.mkdtemp(prefix="jmmc-hypothesis-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    set_hypothesis_home_dir(folder)
