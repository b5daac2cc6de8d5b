"""The platform's services as listed once in ``services/registry.yaml`` (dev tools and tests)."""

from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[4]
REGISTRY = REPO / "services" / "registry.yaml"


@dataclass(frozen=True)
class RegisteredService:
    name: str
    title: str
    path: str
    port_offset: int
    #: Commands of the service that load its demo data after ``migrate`` (idempotent).
    demo: tuple[tuple[str, ...], ...]
    #: Commands of the service run as long-lived processes next to its web server.
    workers: tuple[tuple[str, ...], ...] = ()


def registered_services(registry: Path = REGISTRY) -> list[RegisteredService]:
    """Every service of the platform, in the registry's order."""
    entries = yaml.safe_load(registry.read_text())["services"]
    return [
        RegisteredService(
            name=entry["name"],
            title=entry["title"],
            path=entry["path"],
            port_offset=entry["port_offset"],
            demo=tuple(tuple(command) for command in entry["demo"]),
            workers=tuple(tuple(command) for command in entry.get("workers", [])),
        )
        for entry in entries
    ]


def service_names(registry: Path = REGISTRY) -> list[str]:
    return [service.name for service in registered_services(registry)]
