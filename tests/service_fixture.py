"""What the tests of a service need: its database migrated by the real CLIs, the service
serving on a free port, and accounts (with roles, groups and an API token) to call it as.

Each service's ``conftest.py`` builds its fixtures from these: ``service_fixtures`` defines
the four every service test needs, named after the service.
"""

import itertools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from jmmc_core.accounts import User
from jmmc_core.accounts import services as accounts
from jmmc_core.accounts import storage as accounts_storage
from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.migrations import MIGRATIONS as ACCOUNTS_MIGRATIONS
from jmmc_core.database import Database
from jmmc_core.migrations import upgrade_to_head
from jmmc_devtools.pgcluster import free_port
from jmmc_devtools.processes import serving
from jmmc_devtools.registry import service_names

from .core.test_migrations import cli

BIN = Path(sys.executable).parent
PASSWORD = "a long test password"
_names = itertools.count(1)


def migrate_platform(url: str, *services: str) -> str:
    """The accounts schema and each of ``services`` migrated by its own CLI, as ``make up`` does."""
    upgrade_to_head(AccountsSettings(database_url=url), ACCOUNTS_MIGRATIONS)
    for service in services:
        result = cli(service, url, "migrate")
        assert result.returncode == 0, result.stderr
    return url


def service_fixtures(name: str, settings_class: type, folders: tuple[str, ...] = ()) -> tuple:
    """The session fixtures ``<name>_database`` (accounts and every service migrated, so
    TAP_SCHEMA holds every publication), ``<name>_environment`` (the ``<NAME>_*`` variables of a
    test deployment, each of ``folders`` a temporary folder: ``files`` → ``<NAME>_FILES_DIR``),
    ``<name>_settings``, ``<name>_server`` (a real ``<name> serve``) and ``<name>_accounts``.

    A conftest binds them to those names: ``oidb_database, … = service_fixtures("oidb", …)``.
    """
    prefix = f"{name.upper()}_"

    @pytest.fixture(scope="session")
    def database(new_database) -> str:
        return migrate_platform(new_database(name), *service_names())

    @pytest.fixture(scope="session")
    def environment(request, tmp_path_factory) -> dict[str, str]:
        variables = {
            f"{prefix}DATABASE_URL": request.getfixturevalue(f"{name}_database"),
            f"{prefix}ENVIRONMENT": "test",
            f"{prefix}LOG_LEVEL": "WARNING",
        }
        for folder in folders:
            path = tmp_path_factory.mktemp(f"{name}-{folder}")
            variables[f"{prefix}{folder.upper()}_DIR"] = str(path)
        return variables

    @pytest.fixture(scope="session")
    def settings(request):
        variables = request.getfixturevalue(f"{name}_environment")
        return settings_class(
            **{key.removeprefix(prefix).lower(): value for key, value in variables.items()}
        )

    @pytest.fixture(scope="session")
    def server(request) -> Iterator["Server"]:
        with running_service(name, request.getfixturevalue(f"{name}_environment")) as running:
            yield running

    @pytest.fixture(scope="session")
    def service_accounts(request) -> Iterator["Accounts"]:
        accounts = Accounts(request.getfixturevalue(f"{name}_database"))
        yield accounts
        accounts.close()

    return database, environment, settings, server, service_accounts


@dataclass(frozen=True)
class Server:
    url: str
    prefix: str
    pid: int

    @property
    def service_url(self) -> str:
        """Base of the service's routes, e.g. ``http://127.0.0.1:41234/oidb``."""
        return f"{self.url}{self.prefix}"


@contextmanager
def running_service(name: str, environment: dict[str, str]) -> Iterator[Server]:
    """``<name> serve`` on a free port, yielded once /health answers; stopped afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(
        [str(BIN / name), "serve", "--port", str(port)],
        env={**os.environ, **environment},
        health_url=f"{base}/health",
    ) as process:
        yield Server(base, f"/{name}", process.pid)


@dataclass(frozen=True)
class Account:
    """A user of the tests, with an API token for scripted calls."""

    user: User
    token: str
    password: str = PASSWORD

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Accounts:
    """Makes accounts and groups in a platform database: ``accounts.new(roles=("moderator",))``."""

    def __init__(self, url: str) -> None:
        self.database = Database(AccountsSettings(database_url=url, environment="test"))

    def unique(self, name: str) -> str:
        return f"{name}-{next(_names)}"

    def group(self, name: str | None = None) -> tuple[str, int]:
        """A new group: its name and id."""
        name = name or self.unique("group")
        with self.database.session() as session:
            accounts.create_group(session, name)
            return name, accounts_storage.group_by_name(session, name).id

    def new(
        self, name: str | None = None, roles: tuple[str, ...] = (), groups: tuple[str, ...] = ()
    ) -> Account:
        name = name or self.unique("user")
        with self.database.session() as session:
            accounts.create_user(session, name, password=PASSWORD, roles=roles)
            for group in groups:
                accounts.add_member(session, group, name)
            user = accounts.find_user(session, name)
            token, _ = accounts.create_token(session, user, "tests")
        return Account(user, token)

    def close(self) -> None:
        self.database.dispose()
