"""ci/pin-images.sh against a stand-in container engine and registry: every service's image and
the database image of charts/database are pinned by digest, built only when the registry lacks
them; the database image's tag follows its Containerfile and its base."""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, SERVICES

REPOSITORY = "registry.example:5000/jmmc"
BASE = "ghcr.io/cloudnative-pg/postgresql@sha256:" + "b" * 64

#: A docker stand-in: the registry is a file of image names; digests hash the name.
FAKE_ENGINE = """#!/usr/bin/env bash
set -euo pipefail
registry="$FAKE_DIR/registry"
touch "$registry"
case "$1" in
  pull) grep -qxF "${@: -1}" "$registry" ;;
  build) echo "build $*" >>"$FAKE_DIR/calls" ;;
  push) echo "$2" >>"$registry"; echo "push $2" >>"$FAKE_DIR/calls" ;;
  image)
    image=${@: -1}
    grep -qxF "$image" "$registry" || exit 1
    echo "${image%:*}@sha256:$(printf %s "$image" | sha256sum | cut -c1-64)" ;;
  *) exit 3 ;;
esac
"""


def digest_of(image: str) -> str:
    return f"{image.rpartition(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


@pytest.fixture(scope="module")
def service_tags() -> dict[str, str]:
    tags = subprocess.run([REPO / "ci" / "image-tags.sh"], capture_output=True, text=True,
                          check=True).stdout.split()  # fmt: skip
    services = dict(zip(tags[::2], tags[1::2], strict=True))
    assert set(services) == set(SERVICES)
    return services


@pytest.fixture
def pin(tmp_path: Path, service_tags: dict[str, str]):
    """Runs ci/pin-images.sh with the stand-in; the services' images are already pushed."""
    (tmp_path / "docker").write_text(FAKE_ENGINE)
    (tmp_path / "docker").chmod(0o755)
    (tmp_path / "registry").write_text(
        "".join(f"{REPOSITORY}/{service}:{tag}\n" for service, tag in service_tags.items())
    )

    def run(base: str = BASE) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
        calls = tmp_path / "calls"
        calls.write_text("")
        images = tmp_path / "images.txt"
        environment = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}",
                       "FAKE_DIR": str(tmp_path)}  # fmt: skip
        result = subprocess.run(
            [REPO / "ci" / "pin-images.sh", "--engine", "docker", "--repository", REPOSITORY,
             "--database-base", base, images],
            env=environment, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        pins = dict(line.split() for line in images.read_text().splitlines()) if (
            result.returncode == 0) else {}  # fmt: skip
        return result, pins, calls.read_text()

    return run


def test_the_database_image_is_built_once_and_pinned_by_digest_like_the_services(pin, service_tags):
    result, pins, calls = pin()
    assert result.returncode == 0, result.stderr
    for service, tag in service_tags.items():
        assert pins[service] == digest_of(f"{REPOSITORY}/{service}:{tag}")
    (built,) = [line for line in calls.splitlines() if line.startswith("build")]
    assert "-f charts/postgres/image/Containerfile.cnpg" in built
    assert f"--build-arg BASE_IMAGE={BASE}" in built
    image = built.split(" -t ")[1].split()[0]
    assert image.startswith(f"{REPOSITORY}/postgres-cnpg:15-pgsphere-")
    assert image.endswith(f"-{'b' * 12}")  # the base's digest: a new base builds anew
    assert f"push {image}" in calls
    assert pins["database"] == digest_of(image)
    again, same, calls = pin()
    assert again.returncode == 0 and same == pins and calls == "", "nothing rebuilt"
    _, rebased, calls = pin(BASE.replace("b" * 64, "c" * 64))
    assert rebased["database"] != pins["database"] and "build" in calls


def test_a_database_base_image_named_by_tag_is_refused(pin):
    result, _, calls = pin("ghcr.io/cloudnative-pg/postgresql:15")
    assert result.returncode != 0 and calls == ""
    assert "--database-base must be CloudNativePG's PostgreSQL image by digest" in result.stderr
