"""Fixtures of the accounts tests: a database with the accounts schema migrated, and names.

Tests share the database, so each one makes its own users and groups (``unique``).
"""

import itertools
from collections.abc import Callable, Iterator

import pytest

from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.migrations import MIGRATIONS
from jmmc_core.database import Database
from jmmc_core.migrations import upgrade_to_head

_names = itertools.count(1)


@pytest.fixture(scope="session")
def accounts_url(new_database) -> str:
    url = new_database("accounts")
    upgrade_to_head(AccountsSettings(database_url=url), MIGRATIONS)
    return url


@pytest.fixture
def database(accounts_url) -> Iterator[Database]:
    database = Database(AccountsSettings(database_url=accounts_url, environment="test"))
    yield database
    database.dispose()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A name no other test uses: ``unique("alice")`` -> ``alice-17``."""
    return lambda name: f"{name}-{next(_names)}"
