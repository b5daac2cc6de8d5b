"""The whole platform on loopback: ``jmmc-platform up|down|status`` (``make up/down/status``).

Everything runs from this repository: a private PostgreSQL cluster (unless
``JMMC_DATABASE_URL`` points at another server), every service of ``services/registry.yaml``
under uvicorn with its workers (the registry's ``workers``) and HAProxy in front, configured
from the same template as the Ansible role.
Every process started is recorded by pid under the run folder, and ``down`` stops exactly
those.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import jinja2
import yaml

from jmmc_core.tap_publishing import CONE_FUNCTIONS

from .pgcluster import ClusterError, PostgresCluster, port_in_use
from .processes import NotHealthy, wait_until_healthy
from .registry import registered_services

REPO = Path(__file__).resolve().parents[4]
HAPROXY_ROLE = REPO / "ansible" / "roles" / "haproxy"
DATABASE_NAME = "jmmc"
DATABASE_OWNER = "jmmc"
#: The login role TAP runs users' ADQL as: a member of the read-only ``tap_reader`` group
#: (created by the services' ``migrate``) and of nothing else.
TAP_QUERY_ROLE = "tap_query"
TAP_READER_ROLE = "tap_reader"

#: Jobs that load each service's demo data after its migrations (idempotent commands).
DEMO_COMMANDS: dict[str, tuple[tuple[str, ...], ...]] = {
    service.name: service.demo for service in registered_services()
}


class PlatformError(RuntimeError):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    path: str
    workers: tuple[tuple[str, ...], ...] = ()

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"


@dataclass(frozen=True)
class Layout:
    """Where the platform runs: every value can be moved by an environment variable."""

    run_dir: Path
    haproxy_port: int
    stats_port: int
    pg_port: int
    port_base: int
    external_database: str | None
    bin_dir: Path

    @classmethod
    def from_environment(cls) -> "Layout":
        env = os.environ
        return cls(
            run_dir=Path(env.get("JMMC_RUN_DIR", REPO / "run")).resolve(),
            haproxy_port=int(env.get("JMMC_HAPROXY_PORT", 8080)),
            stats_port=int(env.get("JMMC_HAPROXY_STATS_PORT", 8081)),
            pg_port=int(env.get("JMMC_PG_PORT", 55432)),
            port_base=int(env.get("JMMC_PORT_BASE", 8100)),
            external_database=env.get("JMMC_DATABASE_URL") or None,
            bin_dir=Path(sys.executable).parent,
        )

    @property
    def services(self) -> list[Service]:
        return [
            Service(
                service.name, self.port_base + service.port_offset, service.path, service.workers
            )
            for service in registered_services()
        ]

    @property
    def cluster(self) -> PostgresCluster:
        return PostgresCluster(self.run_dir / "pg", self.pg_port)

    @property
    def database_url(self) -> str:
        return self.external_database or self.cluster.url(DATABASE_NAME, DATABASE_OWNER)

    def pidfile(self, name: str) -> Path:
        return self.run_dir / "pids" / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    @property
    def tap_query_url(self) -> str | None:
        """Where TAP runs ADQL; None on an external server, where TAP switches its own
        connections to the reader role instead (the platform creates no roles there)."""
        if self.external_database is not None:
            return None
        return self.cluster.url(DATABASE_NAME, TAP_QUERY_ROLE)

    @property
    def haproxy_config(self) -> Path:
        return self.run_dir / "haproxy" / "haproxy.cfg"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.haproxy_port}"


def running_pid(pidfile: Path) -> int | None:
    """The pid recorded in ``pidfile`` if that process is still alive."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def stop_pid(pidfile: Path, timeout: float = 10) -> bool:
    pid = running_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(pidfile):
        time.sleep(0.1)
    if running_pid(pidfile):
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True


def service_environment(layout: Layout, service: Service) -> dict[str, str]:
    environment = {
        **os.environ,
        f"{service.env_prefix}DATABASE_URL": layout.database_url,
        f"{service.env_prefix}ENVIRONMENT": os.environ.get("JMMC_ENVIRONMENT", "development"),
    }
    if service.name == "tap":
        # Web and worker processes share the async results, so the folder is the platform's.
        environment["TAP_RESULTS_DIR"] = str(layout.run_dir / "tap-results")
        if layout.tap_query_url is not None:
            environment["TAP_QUERY_DATABASE_URL"] = layout.tap_query_url
    if service.name == "oidb":
        # Stored OIFITS files and quick-looks live in the run folder; links and the ObsPortal
        # import go through HAProxy, wherever it listens.
        environment["OIDB_FILES_DIR"] = str(layout.run_dir / "oidb-files")
        environment["OIDB_PREVIEWS_DIR"] = str(layout.run_dir / "oidb-previews")
        environment["OIDB_PUBLIC_URL"] = f"{layout.public_url}/oidb"
        environment["OIDB_OBSPORTAL_URL"] = f"{layout.public_url}/obsportal"
    if service.name in ("obsportal", "oidb"):
        # Offline, the demo's targets and searches by name resolve from the recorded answers.
        environment.setdefault(
            f"{service.env_prefix}RESOLVER_RECORDINGS",
            str(REPO / "tests" / "recordings" / "simbad"),
        )
    return environment


def ensure_tap_query_role(cluster: PostgresCluster, database: str) -> None:
    """Create the login role TAP runs ADQL as, unless it exists (after the migrations, which
    create ``tap_reader``). A private cluster trusts loopback: the role has no password."""
    with cluster.connect(database) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", [TAP_QUERY_ROLE]
        ).fetchone():
            connection.execute(f'CREATE ROLE "{TAP_QUERY_ROLE}" LOGIN')
        connection.execute(f'GRANT "{TAP_READER_ROLE}" TO "{TAP_QUERY_ROLE}"')
        # TEMPORARY: uploaded tables are temporary tables of the query connection.
        connection.execute(
            f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{TAP_QUERY_ROLE}"'
        )


def declare_cone_functions_leakproof(cluster: PostgresCluster, database: str) -> None:
    """As the postgres chart does: row rules then let cones use the position indexes."""
    with cluster.connect(database) as connection:
        for function in CONE_FUNCTIONS:
            connection.execute(f"ALTER FUNCTION {function} LEAKPROOF")


def run_job(layout: Layout, service: Service, *args: str) -> None:
    command = [str(layout.bin_dir / service.name), *args]
    result = subprocess.run(
        command, env=service_environment(layout, service), capture_output=True, text=True
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PlatformError(
            f"`{service.name} {' '.join(args)}` failed: {detail[-1] if detail else '?'}"
        )


def wait_for(url: str, timeout: float, what: str) -> None:
    try:
        wait_until_healthy(url, timeout)
    except NotHealthy as exc:
        raise PlatformError(f"{what} is not healthy: {exc}") from exc


def start_service(layout: Layout, service: Service) -> str:
    pidfile = layout.pidfile(service.name)
    if running_pid(pidfile):
        return "already running"
    if port_in_use(service.port):
        raise PlatformError(
            f"port {service.port} for {service.name} is already in use by another process; "
            "free it or move the platform with JMMC_PORT_BASE"
        )
    log = layout.logfile(service.name).open("ab")
    process = subprocess.Popen(
        [str(layout.bin_dir / service.name), "serve", "--port", str(service.port)],
        env=service_environment(layout, service),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    pidfile.write_text(f"{process.pid}\n")
    wait_for(f"http://127.0.0.1:{service.port}/health", 60, service.name)
    return "started"


def worker_name(service: Service, command: tuple[str, ...]) -> str:
    """The name of a worker's pidfile, logfile and status row: ``tap-worker``."""
    return "-".join((service.name, *command))


def start_worker(layout: Layout, service: Service, command: tuple[str, ...]) -> str:
    name = worker_name(service, command)
    pidfile = layout.pidfile(name)
    if running_pid(pidfile):
        return "already running"
    log = layout.logfile(name).open("ab")
    process = subprocess.Popen(
        [str(layout.bin_dir / service.name), *command],
        env=service_environment(layout, service),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    pidfile.write_text(f"{process.pid}\n")
    # A worker has no health URL: one that cannot start (bad settings, no database) exits
    # at once, so a worker still running after a moment is taken as started.
    try:
        status = process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return "started"
    pidfile.unlink(missing_ok=True)
    raise PlatformError(
        f"`{service.name} {' '.join(command)}` exited with status {status}; "
        f"see {layout.logfile(name)}"
    )


def haproxy_variables(layout: Layout) -> dict:
    variables = yaml.safe_load((HAPROXY_ROLE / "defaults" / "main.yml").read_text())
    variables.update(
        haproxy_port=layout.haproxy_port,
        haproxy_stats_port=layout.stats_port,
        haproxy_stats_socket=str(layout.run_dir / "haproxy" / "haproxy.sock"),
        haproxy_services=[
            {
                "name": service.name,
                "path": service.path,
                "servers": [
                    {"name": f"{service.name}1", "address": "127.0.0.1", "port": service.port}
                ],
            }
            for service in layout.services
        ],
    )
    return variables


def render_haproxy_config(variables: dict) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HAPROXY_ROLE / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.get_template("haproxy.cfg.j2").render(**variables)


def start_haproxy(layout: Layout) -> str:
    config = layout.haproxy_config
    candidate = config.with_suffix(".new")
    candidate.write_text(render_haproxy_config(haproxy_variables(layout)))
    check = subprocess.run(
        ["haproxy", "-c", "-q", "-f", str(candidate)], capture_output=True, text=True
    )
    if check.returncode != 0:
        raise PlatformError(f"rendered HAProxy config is invalid: {check.stderr.strip()}")
    pidfile = layout.pidfile("haproxy")
    pid = running_pid(pidfile)
    if pid and config.exists() and config.read_text() == candidate.read_text():
        candidate.unlink()
        return "already running"
    if pid is None and port_in_use(layout.haproxy_port):
        raise PlatformError(
            f"port {layout.haproxy_port} for HAProxy is already in use by another process; "
            "free it or set JMMC_HAPROXY_PORT"
        )
    candidate.replace(config)
    command = ["haproxy", "-D", "-p", str(pidfile), "-f", str(config)]
    if pid:
        command += ["-sf", str(pid)]  # graceful reload: the old process finishes its requests
    subprocess.run(command, check=True)
    return "reloaded" if pid else "started"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def describe(self) -> str:
        groups = f"; group {', '.join(self.groups)}" if self.groups else ""
        return f"roles {', '.join(self.roles)}{groups}"


#: Accounts of the local platform; their passwords are development defaults, printed by `up`.
DEMO_ACCOUNTS = (
    DemoAccount("admin", "jmmc-admin", ("admin", "moderator", "curator")),
    DemoAccount("astronomer", "jmmc-astronomer", ("submitter",), ("demo-group",)),
)


def run_accounts(layout: Layout, *args: str, stdin: str | None = None) -> None:
    """``jmmc-accounts ARGS`` against the platform's database."""
    result = subprocess.run(
        [str(layout.bin_dir / "jmmc-accounts"), *args],
        env={**os.environ, "ACCOUNTS_DATABASE_URL": layout.database_url},
        input=stdin,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PlatformError(f"`jmmc-accounts {args[0]}` failed: {detail[-1] if detail else '?'}")


def prepare_accounts(layout: Layout) -> None:
    """Migrate the shared accounts schema and create the demo accounts (both idempotent)."""
    run_accounts(layout, "migrate")
    for group in sorted({group for account in DEMO_ACCOUNTS for group in account.groups}):
        run_accounts(layout, "create-group", group, "--if-missing")
    for account in DEMO_ACCOUNTS:
        roles = [argument for role in account.roles for argument in ("--role", role)]
        run_accounts(
            layout,
            "create-user",
            account.username,
            "--password-stdin",
            "--if-missing",
            *roles,
            stdin=f"{account.password}\n",
        )
        for group in account.groups:
            run_accounts(layout, "add-member", group, account.username)
    report("accounts", f"migrated; demo users {', '.join(a.username for a in DEMO_ACCOUNTS)}")


def up(layout: Layout) -> None:
    for folder in ("pids", "logs", "haproxy"):
        (layout.run_dir / folder).mkdir(parents=True, exist_ok=True)
    if layout.external_database is None:
        cluster = layout.cluster
        cluster.start()
        cluster.ensure_database(DATABASE_NAME, DATABASE_OWNER)
        report("postgresql", f"127.0.0.1:{layout.pg_port} ({layout.run_dir / 'pg'})")
    prepare_accounts(layout)
    for service in layout.services:
        run_job(layout, service, "migrate")
        for job in DEMO_COMMANDS.get(service.name, []):
            run_job(layout, service, *job)
    if layout.external_database is None:
        declare_cone_functions_leakproof(layout.cluster, DATABASE_NAME)
    if layout.tap_query_url is not None:
        ensure_tap_query_role(layout.cluster, DATABASE_NAME)
        report(TAP_QUERY_ROLE, f"login role, member of {TAP_READER_ROLE} only")
    for service in layout.services:
        report(service.name, f"{start_service(layout, service)} on 127.0.0.1:{service.port}")
        for command in service.workers:
            report(worker_name(service, command), start_worker(layout, service, command))
    report("haproxy", start_haproxy(layout))
    for service in layout.services:
        wait_for(f"{layout.public_url}{service.path}/health", 20, f"{service.name} via HAProxy")
    print("\nThe platform is up:")
    for service in layout.services:
        print(f"  {service.name:<10} {layout.public_url}{service.path}/")
    print(f"  {'stats':<10} http://127.0.0.1:{layout.stats_port}/stats")
    print(f"\nSign in at {layout.public_url}/jmdc/account/signin (one sign-in for every service):")
    for account in DEMO_ACCOUNTS:
        print(f"  {account.username:<10} password {account.password:<16} {account.describe()}")


def worker_names(layout: Layout) -> list[str]:
    return [
        worker_name(service, command) for service in layout.services for command in service.workers
    ]


def down(layout: Layout) -> None:
    for name in ["haproxy", *(service.name for service in layout.services), *worker_names(layout)]:
        report(name, "stopped" if stop_pid(layout.pidfile(name)) else "was not running")
    if layout.external_database is None and (layout.run_dir / "pg").exists():
        cluster = layout.cluster
        was_running = cluster.is_running()
        cluster.stop()
        report("postgresql", "stopped" if was_running else "was not running")


def status(layout: Layout) -> bool:
    """Print what runs; True when every component is running."""
    rows = []
    if layout.external_database is None:
        pid = layout.cluster.pid() if layout.cluster.is_running() else None
        rows.append(("postgresql", pid, layout.pg_port, "-"))
    for service in layout.services:
        pid = running_pid(layout.pidfile(service.name))
        rows.append(
            (
                service.name,
                pid,
                service.port,
                health(f"http://127.0.0.1:{service.port}/health") if pid else "-",
            )
        )
    for name in worker_names(layout):
        rows.append((name, running_pid(layout.pidfile(name)), "-", "-"))
    pid = running_pid(layout.pidfile("haproxy"))
    rows.append(("haproxy", pid, layout.haproxy_port, "-"))
    print(f"{'component':<12}{'state':<10}{'pid':<9}{'port':<7}health")
    for name, pid, port, state in rows:
        print(f"{name:<12}{'running' if pid else 'stopped':<10}{pid or '-':<9}{port:<7}{state}")
    return all(pid for _, pid, _, _ in rows)


def health(url: str) -> str:
    try:
        return str(httpx.get(url, timeout=2).json().get("status"))
    except (httpx.HTTPError, ValueError):
        return "unreachable"


def report(component: str, state: str) -> None:
    print(f"{component:<12}{state}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="jmmc-platform", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    action = parser.parse_args(argv).action
    layout = Layout.from_environment()
    try:
        if action == "up":
            up(layout)
        elif action == "down":
            down(layout)
        elif not status(layout):
            sys.exit(3)
    except (PlatformError, ClusterError, subprocess.CalledProcessError) as exc:
        print(f"jmmc-platform {action}: {exc}", file=sys.stderr)
        sys.exit(1)
