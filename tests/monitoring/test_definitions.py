"""Bad monitoring definitions are rejected, naming the element, before Zabbix is contacted."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zbxsync.cli import DEFAULT_DEFINITIONS

ZBXSYNC = Path(sys.executable).parent / "zbxsync"
#: Nothing listens here: a run that got as far as connecting would say so instead.
UNREACHABLE_API = "http://127.0.0.1:9/api_jsonrpc.php"


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    copy = tmp_path / "monitoring"
    shutil.copytree(DEFAULT_DEFINITIONS, copy, ignore=shutil.ignore_patterns("*.sh"))
    return copy


def apply(definitions: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(ZBXSYNC),
            "apply",
            "--definitions",
            str(definitions),
            "--url",
            UNREACHABLE_API,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def rejected(result: subprocess.CompletedProcess, *names: str) -> None:
    assert result.returncode == 1
    for name in names:
        assert name in result.stderr, result.stderr
    assert "cannot log in" not in result.stderr


def test_repository_definitions_are_valid() -> None:
    check = subprocess.run([str(ZBXSYNC), "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "JMMC obsportal" in check.stdout


def test_misspelt_threshold_macro_in_a_template_is_rejected(definitions: Path) -> None:
    template = definitions / "templates" / "jmdc.yaml"
    template.write_text(template.read_text() + 'macros: {"{$JMMC.RESPONSE.MAXX.WARN}": "5"}\n')
    rejected(apply(definitions), "jmdc.yaml", "{$JMMC.RESPONSE.MAXX.WARN}")


def test_endpoint_without_a_path_is_rejected(definitions: Path) -> None:
    template = definitions / "templates" / "tap.yaml"
    template.write_text(template.read_text() + "  - {name: page, kind: html}\n")
    rejected(apply(definitions), "tap.yaml", "endpoints[2].path")


def test_unknown_macro_used_in_an_endpoint_is_rejected(definitions: Path) -> None:
    template = definitions / "templates" / "oidb.yaml"
    template.write_text(
        template.read_text() + "  - {name: page, kind: html, path: '/oidb/{$OIDB.PAGE}'}\n"
    )
    rejected(apply(definitions), "JMMC oidb", "{$OIDB.PAGE}")


def test_wrong_host_macro_is_rejected(definitions: Path) -> None:
    rejected(apply(definitions, "--macro={$JMMC.WEB.DELAI}=1s"), "{$JMMC.WEB.DELAI}")
