"""ci/build-images.sh and ci/image-tags.sh: which services a push rebuilds, under which tag,
and what an operator sees on a typo."""

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, SERVICES


def git(repository: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repository), *arguments],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def script(repository: Path, name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [repository / "ci" / name, *arguments], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone to make commits in without touching ours, with the scripts as they are now."""
    repository = tmp_path / "repository"
    subprocess.run(["git", "clone", "-q", str(REPO), str(repository)], check=True)
    git(repository, "config", "user.email", "ci@example.org")
    git(repository, "config", "user.name", "CI")
    for name in ("build-images.sh", "image-tags.sh", "services.sh"):
        shutil.copy2(REPO / "ci" / name, repository / "ci" / name)
    git(repository, "commit", "-q", "--allow-empty", "-am", "scripts under test")
    return repository


def commit_change(repository: Path, path: str) -> str:
    target = repository / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(target.read_text() + "\n# changed\n" if target.exists() else "new\n")
    git(repository, "add", path)
    git(repository, "commit", "-q", "-m", f"change {path}")
    return git(repository, "rev-parse", "HEAD")


def planned(repository: Path, *arguments: str) -> dict[str, str]:
    result = script(repository, "build-images.sh", "--dry-run", "--repository", "r", *arguments)
    assert result.returncode == 0, result.stderr
    return dict(line.split() for line in result.stdout.splitlines())


def test_unknown_service_exits_non_zero_listing_the_known_ones():
    result = script(REPO, "build-images.sh", "--dry-run", "obsportal", "obsprotal")
    assert result.returncode != 0
    assert "unknown service 'obsprotal'" in result.stderr
    assert f"known services: {' '.join(SERVICES)}" in result.stderr
    assert result.stdout == ""


def test_a_push_rebuilds_only_the_changed_service_tagged_with_its_commit(clone: Path):
    before = git(clone, "rev-parse", "HEAD")
    tags_before = dict(line.split() for line in script(clone, "image-tags.sh").stdout.splitlines())
    changed = commit_change(clone, "services/jmdc/NOTES.md")
    assert planned(clone, "--changed-since", before) == {"jmdc": f"r/jmdc:{changed}"}
    tags_after = dict(line.split() for line in script(clone, "image-tags.sh").stdout.splitlines())
    assert tags_after == {**tags_before, "jmdc": changed}, "the deploy asks for what was built"


@pytest.mark.parametrize("shared_input", ["libs/jmmc_core/NOTES.md", "services/Containerfile"])
def test_a_change_to_a_shared_input_rebuilds_every_service(clone: Path, shared_input: str):
    before = git(clone, "rev-parse", "HEAD")
    changed = commit_change(clone, shared_input)
    plan = planned(clone, "--changed-since", before)
    assert plan == {service: f"r/{service}:{changed}" for service in SERVICES}


def test_a_push_touching_no_image_input_builds_nothing(clone: Path):
    before = git(clone, "rev-parse", "HEAD")
    commit_change(clone, "docs/NOTES.md")
    result = script(clone, "build-images.sh", "--dry-run", "--changed-since", before)
    assert result.returncode == 0
    assert result.stdout == ""
    assert f"no service changed since {before}" in result.stderr


@pytest.mark.parametrize("since", ["0" * 40, "all"], ids=["new-branch", "all"])
def test_no_known_previous_commit_builds_everything(clone: Path, since: str):
    assert set(planned(clone, "--changed-since", since)) == set(SERVICES)


def test_ci_scripts_pass_shellcheck():
    scripts = sorted(str(path) for path in (REPO / "ci").glob("*.sh"))
    result = subprocess.run(["shellcheck", *scripts, str(REPO / ".ci" / "run")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout
