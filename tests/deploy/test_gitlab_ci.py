""".gitlab-ci.yml: valid for GitLab, and its lint and test jobs pass when really run
(gitlab-ci-local, shell executor)."""

import os
import shutil
from pathlib import Path

import yaml

from .conftest import REPO, Run

PIPELINE = REPO / ".gitlab-ci.yml"


def test_pipeline_validates_against_gitlab_ci_schema(run: Run):
    result = run(["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", PIPELINE])
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_an_invalid_pipeline(run: Run, tmp_path: Path):
    pipeline = yaml.safe_load(PIPELINE.read_text())
    pipeline["lint"]["when"] = "sometimes"
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text(yaml.safe_dump(pipeline))
    result = run(["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", broken])
    assert result.returncode != 0
    assert "sometimes" in result.stdout + result.stderr


def test_stages_and_main_only_delivery():
    pipeline = yaml.safe_load(PIPELINE.read_text())
    assert pipeline["stages"] == ["lint", "test", "build", "deploy", "verify"]
    build = pipeline["build"]
    assert any("dind" in service for service in build["services"])
    assert "--changed-since" in " ".join(build["script"])
    main_only = pipeline[".main-only"]["rules"][0]["if"]
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in main_only
    for job in ("build", "deploy", "verify"):
        assert ".main-only" in str(pipeline[job]["extends"])


def test_lint_stage_and_test_job_pass_under_gitlab_ci_local(run: Run):
    # A state folder of our own (it must be relative): other sessions may run this too.
    state = Path(".gitlab-ci-local") / f"pytest-{os.getpid()}"
    # The real test job runs the whole suite, this test included: here it runs a subset.
    try:
        result = run(
            ["gitlab-ci-local", "lint", "charts", "test", "--state-dir", state,
             "--variable", "PYTEST_ARGS=tests/core/test_settings.py"],
            timeout=900,
        )  # fmt: skip
    finally:
        shutil.rmtree(REPO / state, ignore_errors=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for job in ("lint", "charts", "test"):
        assert f"PASS  {job}" in output
    assert "pytest tests/core/test_settings.py" in output
    assert " passed" in output
