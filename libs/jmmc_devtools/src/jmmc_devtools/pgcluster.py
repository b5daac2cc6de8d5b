"""A private PostgreSQL cluster started from the Debian binaries, for the local platform and tests.

PostgreSQL refuses to run as root, so when we are root every server command runs as the
``postgres`` user through ``runuser``, and the cluster folder belongs to that user.
"""

import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

BINDIR = Path(os.environ.get("JMMC_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
SUPERUSER = "postgres"

#: Durability is not wanted for throw-away clusters; speed is.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "logging_collector": "off",
}


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


@dataclass
class PostgresCluster:
    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    @property
    def logfile(self) -> Path:
        return self.directory / "postgresql.log"

    @staticmethod
    def _as_server_user(*command: str | Path) -> list[str]:
        argv = [str(part) for part in command]
        return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, *command: str | Path) -> None:
        result = subprocess.run(self._as_server_user(*command), capture_output=True, text=True)
        if result.returncode != 0:
            name = Path(str(command[0])).name
            raise ClusterError(f"{name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def _hand_to_server_user(self) -> None:
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam(SERVER_USER)
        for path in (self.directory, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            shutil.chown(path, user.pw_uid, user.pw_gid)
        # The server user must be able to reach its folder through our parents.
        for parent in self.directory.resolve().parents:
            if parent.stat().st_mode & 0o001 == 0:
                parent.chmod(parent.stat().st_mode | 0o001)

    def initialise(self) -> None:
        """Create the cluster unless it exists; safe to call again."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._hand_to_server_user()
        if (self.data / "PG_VERSION").exists():
            return
        self._run(
            BINDIR / "initdb",
            "-D",
            self.data,
            "--auth=trust",
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        settings = {
            **_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def is_running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        status = self._as_server_user(BINDIR / "pg_ctl", "status", "-D", self.data)
        return subprocess.run(status, capture_output=True).returncode == 0

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def start(self) -> None:
        self.initialise()
        if self.is_running():
            return
        if port_in_use(self.port):
            raise ClusterError(f"port {self.port} is already in use; cannot start PostgreSQL")
        self._run(
            BINDIR / "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            self.data,
            "-l",
            self.logfile,
            "-o",
            f"-p {self.port}",
        )

    def stop(self) -> None:
        if self.is_running():
            self._run(BINDIR / "pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data)

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        )

    def ensure_database(self, name: str, owner: str) -> None:
        """Create the login role and the database it owns, unless they exist."""
        with self.connect() as connection:
            if not connection.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [owner]
            ).fetchone():
                connection.execute(f'CREATE ROLE "{owner}" LOGIN SUPERUSER')
            if not connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone():
                connection.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')

    def drop_database(self, name: str) -> None:
        with self.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
