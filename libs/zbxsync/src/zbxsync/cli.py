"""``zbxsync``: check, render and apply monitoring/ to a Zabbix server; report a run by hand."""

import argparse
import os
import sys
import time
from pathlib import Path

from jmmc_core.zabbix import Run, ZabbixSettings, host_name, send

from .apply import ZabbixError, apply, connect
from .render import export_yaml
from .spec import Definitions, SpecError, check_macros

DEFAULT_DEFINITIONS = Path(__file__).resolve().parents[4] / "monitoring"


def _macro(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"expected {{$NAME}}=value, got {text!r}")
    return name, value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zbxsync", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    def with_definitions(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--definitions",
            type=Path,
            default=DEFAULT_DEFINITIONS,
            help="folder with zabbix.yaml and templates/ (default: %(default)s)",
        )

    with_definitions(commands.add_parser("check", help="validate the definitions, offline"))
    with_definitions(commands.add_parser("render", help="print the Zabbix import document"))

    apply_command = commands.add_parser("apply", help="make the Zabbix server match")
    with_definitions(apply_command)
    apply_command.add_argument(
        "--url",
        default=os.environ.get("ZABBIX_API_URL"),
        help="Zabbix frontend/API URL (env ZABBIX_API_URL)",
    )
    apply_command.add_argument("--user", default=os.environ.get("ZABBIX_USER", "Admin"))
    apply_command.add_argument(
        "--password-env",
        default="ZABBIX_PASSWORD",
        help="environment variable holding the password",
    )
    apply_command.add_argument(
        "--macro",
        type=_macro,
        action="append",
        default=[],
        metavar="{$NAME}=VALUE",
        help="host macro for every JMMC host",
    )
    apply_command.add_argument("--dry-run", action="store_true", help="show, change nothing")

    report = commands.add_parser("report", help="report one ingestion run by hand")
    report.add_argument("--server", default=os.environ.get("ZABBIX_SERVER", "127.0.0.1"))
    report.add_argument("--port", type=int, default=int(os.environ.get("ZABBIX_PORT", 10051)))
    report.add_argument("--service", required=True, help="service of the job, e.g. obsportal")
    report.add_argument("--job", required=True, help="ingestion job, e.g. obsportal-ingest")
    report.add_argument("--status", choices=["succeeded", "failed"], required=True)
    report.add_argument("--accepted", type=int)
    report.add_argument("--rejected", type=int)
    report.add_argument("--duration", type=float)
    return root


def main(argv: list[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    try:
        sys.exit(_run(arguments))
    except (SpecError, ZabbixError) as exc:
        print(f"zbxsync {arguments.command}: {exc}", file=sys.stderr)
        sys.exit(1)


def _run(arguments: argparse.Namespace) -> int:
    if arguments.command == "check":
        definitions = Definitions(arguments.definitions)
        export_yaml(definitions)
        print(
            f"{len(definitions.templates)} templates OK: "
            + ", ".join(t.template_name for t in definitions.templates)
        )
        return 0
    if arguments.command == "render":
        print(export_yaml(Definitions(arguments.definitions)), end="")
        return 0
    if arguments.command == "apply":
        definitions = Definitions(arguments.definitions)
        export_yaml(definitions)  # every local check passes before we connect
        check_macros("--macro", dict(arguments.macro), definitions.host_macro_names)
        if not arguments.url:
            raise ZabbixError("no Zabbix API URL: pass --url or set ZABBIX_API_URL")
        password = os.environ.get(arguments.password_env, "zabbix")
        api = connect(arguments.url, arguments.user, password)
        count = apply(api, definitions, dict(arguments.macro), arguments.dry_run, print)
        print(
            f"{count} change(s){' planned' if arguments.dry_run else ''}" if count else "no changes"
        )
        return 0
    run = Run(
        arguments.status == "succeeded",
        int(time.time()),
        arguments.duration,
        arguments.accepted,
        arguments.rejected,
    )
    settings = ZabbixSettings(server=arguments.server, port=arguments.port)
    try:
        print(send(settings, host_name(arguments.service), arguments.job, run))
    except RuntimeError as exc:
        raise ZabbixError(str(exc)) from exc
    return 0
