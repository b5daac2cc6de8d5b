"""services/registry.yaml is the one list of services: every per-service item of the repository
(package, chart, platform dependency, database role, monitoring template) has an entry there
and every entry has all of them, so adding a service cannot half-succeed."""

import importlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from jmmc_core.settings import DEFAULT_PLATFORM_LINKS
from jmmc_devtools.registry import REGISTRY, registered_services, service_names
from zbxsync.cli import DEFAULT_DEFINITIONS
from zbxsync.spec import Definitions

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
#: Charts shared by every service or installing the whole platform, not a service's own
#: (the two databases: charts/database's roles are kept equal to charts/postgres's by
#: tests/deploy/test_database_chart.py).
SHARED_CHARTS = {"service", "postgres", "database", "platform"}
SERVICES = registered_services()
TEMPLATES = {template.service: template for template in Definitions(DEFAULT_DEFINITIONS).templates}


def load(path: Path):
    return yaml.safe_load(path.read_text())


def service_folders() -> set[str]:
    return {project.parent.name for project in (REPO / "services").glob("*/pyproject.toml")}


def service_charts() -> set[str]:
    return {chart.parent.name for chart in CHARTS.glob("*/Chart.yaml")} - SHARED_CHARTS


def platform_dependencies() -> set[str]:
    dependencies = load(CHARTS / "platform" / "Chart.yaml")["dependencies"]
    return {dependency["name"] for dependency in dependencies} - SHARED_CHARTS


def platform_image_tags() -> set[str]:
    schema = json.loads((CHARTS / "platform" / "values.schema.json").read_text())
    return set(schema["properties"]["global"]["properties"]["imageTags"]["propertyNames"]["enum"])


def platform_value_keys() -> set[str]:
    schema = json.loads((CHARTS / "platform" / "values.schema.json").read_text())
    return set(schema["properties"]) - {"global", *SHARED_CHARTS}


def production_secrets() -> set[str]:
    """Services whose production Secret is named (created before the first deployment)."""
    values = load(CHARTS / "platform" / "values-production.yaml")
    return {
        name
        for name, part in values.items()
        if part.get("service", {}).get("secrets", {}).get("existingSecret")
    }


def database_roles() -> set[str]:
    return {role["name"] for role in load(CHARTS / "postgres" / "values.yaml")["roles"]}


def monitoring_templates() -> set[str]:
    files = {template.stem for template in (REPO / "monitoring" / "templates").glob("*.yaml")}
    assert files == set(TEMPLATES), "a monitoring template's `service` differs from its file name"
    return files


ITEMS: dict[str, Callable[[], set[str]]] = {
    "package services/<name>": service_folders,
    "chart charts/<name>": service_charts,
    "dependency in charts/platform/Chart.yaml": platform_dependencies,
    "global.imageTags name in charts/platform/values.schema.json": platform_image_tags,
    "values key in charts/platform/values.schema.json": platform_value_keys,
    "existingSecret in charts/platform/values-production.yaml": production_secrets,
    "role in charts/postgres/values.yaml": database_roles,
    "template monitoring/templates/<name>.yaml": monitoring_templates,
}


@pytest.mark.parametrize("item", ITEMS)
def test_every_registered_service_has_the_item_and_every_item_a_registry_entry(item: str):
    present, registered = ITEMS[item](), set(service_names())
    assert not registered - present, f"registered services without a {item}"
    assert not present - registered, f"{item} for services missing from {REGISTRY.name}"


def test_names_and_port_offsets_are_unique_and_offsets_positive():
    names = [service.name for service in SERVICES]
    offsets = [service.port_offset for service in SERVICES]
    assert len(set(names)) == len(names), names
    assert len(set(offsets)) == len(offsets), offsets
    assert all(isinstance(offset, int) and offset > 0 for offset in offsets), offsets


def test_every_page_header_links_the_registered_services_in_order():
    """jmmc_core's default header links: runtime code cannot read the registry, so it follows it."""
    links = [(link.title, link.url) for link in DEFAULT_PLATFORM_LINKS]
    assert links == [(service.title, f"{service.path}/") for service in SERVICES]


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_registered_path_is_where_the_service_serves_itself(service):
    """The service knows its prefix on its own (it never reads the registry): they must agree."""
    settings = importlib.import_module(f"{service.name}.config").Settings()
    assert settings.service_name == service.name
    assert settings.public_prefix == service.path


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_monitoring_template_names_the_service_and_probes_under_its_path(service):
    template = TEMPLATES[service.name]
    assert template.title == service.title
    outside = [e.path for e in template.endpoints if not e.path.startswith(f"{service.path}/")]
    assert not outside, f"{service.name} endpoints outside {service.path}/"


def registry_reader(folder: Path, registry_text: str) -> Callable[..., list[list[str]]]:
    """ci/services.sh run on a copy of the repository's layout holding ``registry_text``."""
    (folder / "ci").mkdir()
    (folder / "services").mkdir()
    shutil.copy2(REPO / "ci" / "services.sh", folder / "ci" / "services.sh")
    (folder / "services" / "registry.yaml").write_text(registry_text)

    def read(*fields: str) -> list[list[str]]:
        result = subprocess.run(
            [folder / "ci" / "services.sh", *fields], capture_output=True, text=True, check=True
        )
        return [line.split() for line in result.stdout.splitlines()]

    return read


def test_the_shell_reader_of_ci_scripts_agrees_with_a_yaml_parser(tmp_path: Path):
    read = registry_reader(tmp_path, REGISTRY.read_text())
    assert read() == [[service.name] for service in SERVICES]
    assert read("path", "port_offset") == [
        [service.name, service.path, str(service.port_offset)] for service in SERVICES
    ]


def test_a_fifth_service_reaches_every_reader(tmp_path: Path):
    registry = REGISTRY.read_text() + (
        "  - name: catalogue\n"
        "    # Comments and lists inside an entry are skipped by the shell reader.\n"
        "    title: Catalogue\n"
        "    path: /catalogue\n"
        "    port_offset: 9\n"
        "    demo: [[load, --demo]]\n"
    )
    read = registry_reader(tmp_path, registry)
    assert read("path")[-1] == ["catalogue", "/catalogue"]
    added = registered_services(tmp_path / "services" / "registry.yaml")[-1]
    assert (added.name, added.path, added.port_offset) == ("catalogue", "/catalogue", 9)
    assert added.demo == (("load", "--demo"),)
