"""The end-to-end monitoring tier: the shared platform and Zabbix fixtures, measured delays."""

from tests.platform_fixture import local_platform, zabbix  # noqa: F401  (shared session fixtures)

#: Delays measured by the tests, printed at the end of the run.
MEASURED: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter) -> None:
    if MEASURED:
        terminalreporter.write_sep("-", "monitoring: measured detection delays")
        for what, value in MEASURED.items():
            terminalreporter.write_line(f"{what}: {value}")
