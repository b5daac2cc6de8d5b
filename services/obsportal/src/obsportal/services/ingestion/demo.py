"""The demo data set ``make up`` loads: synthetic headers plus the real ones when present."""

import os
from pathlib import Path

from .sources import DirectorySource, Source
from .synthetic import SyntheticSource

DEMO_HEADERS = 3000
DEMO_SEED = 2024
REPOSITORY = Path(__file__).resolve().parents[6]


def shared_dir() -> Path:
    """The team's shared material: ``$JMMC_SHARED_DIR`` or ``<repository>/../shared``."""
    return Path(os.environ.get("JMMC_SHARED_DIR", REPOSITORY.parent / "shared"))


def demo_sources() -> list[Source]:
    sources: list[Source] = [SyntheticSource(DEMO_HEADERS, seed=DEMO_SEED)]
    real_headers = shared_dir() / "data" / "eso_headers"
    if real_headers.is_dir():
        sources.append(DirectorySource(real_headers))
    return sources
