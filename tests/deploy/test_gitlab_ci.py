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


def pipeline_jobs() -> dict[str, dict]:
    """Every job with what it extends merged in (GitLab's `extends`, deepest first)."""
    pipeline = yaml.safe_load(PIPELINE.read_text())

    def resolved(name: str) -> dict:
        job = pipeline[name]
        parents = job.get("extends", [])
        merged: dict = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            merged.update(resolved(parent))
        return {**merged, **{key: value for key, value in job.items() if key != "extends"}}

    jobs = {
        name: resolved(name)
        for name, job in pipeline.items()
        if isinstance(job, dict)
        and not name.startswith(".")
        and name not in ("workflow", "variables")
    }
    return {name: job for name, job in jobs.items() if "script" in job}


def deploy_jobs(jobs: dict[str, dict]) -> dict[str, dict]:
    return {name: job for name, job in jobs.items() if "ci/helm.sh deploy" in str(job["script"])}


def test_main_deploys_staging_by_itself_and_production_only_by_hand_after_it():
    jobs = pipeline_jobs()
    deploys = deploy_jobs(jobs)
    environments = {job["environment"]["name"]: name for name, job in deploys.items()}
    assert set(environments) == {"staging", "production"}
    staging, production = deploys[environments["staging"]], deploys[environments["production"]]
    main_only = "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    for job in (staging, production):
        (rule,) = job["rules"]
        assert main_only in rule["if"], "only the default branch deploys"
        assert job["resource_group"] == job["environment"]["name"], "one deploy at a time"
    assert staging["rules"][0].get("when", "on_success") == "on_success"
    assert production["rules"][0]["when"] == "manual"
    assert production.get("allow_failure") is False, "the pipeline waits for a person"
    assert production["environment"]["deployment_tier"] == "production"
    needed = {need["job"] for need in production["needs"]}
    assert environments["staging"] in needed, "production comes after staging"
    stages = yaml.safe_load(PIPELINE.read_text())["stages"]
    assert stages.index(staging["stage"]) < stages.index(production["stage"])


def test_deploys_use_only_the_images_this_pipeline_pinned():
    jobs = pipeline_jobs()
    (build,) = [job for job in jobs.values() if "ci/pin-images.sh" in str(job["script"])]
    pinned = yaml.safe_load(PIPELINE.read_text())["variables"]["PINNED_IMAGES"]
    assert build["artifacts"]["paths"] == ["$PINNED_IMAGES"] and pinned
    build_name = next(name for name, job in jobs.items() if job is build)
    for name, job in deploy_jobs(jobs).items():
        needs = {need["job"]: need.get("artifacts") for need in job["needs"]}
        assert needs.get(build_name) is True, f"{name}: the build job's artifact"
        (command,) = [line for line in job["script"] if "ci/helm.sh deploy" in line]
        assert command.split()[-1] == '"$PINNED_IMAGES"', f"{name}: deploys the pinned images"
    assert "--set" not in PIPELINE.read_text(), "no image reference given any other way"
    (command,) = [line for line in build["script"] if "ci/pin-images.sh" in line]
    assert '--database-base "${CNPG_BASE_IMAGE:?' in command, "the database image pinned too"
    assert "postgres-cnpg" not in PIPELINE.read_text(), "no database image built by tag"


def test_the_database_release_runs_the_pinned_database_image():
    script = (REPO / "ci" / "helm.sh").read_text()
    deploy = script[script.index("deploy() {") :]
    deploy = deploy[: deploy.index("\n}\n")]
    release = deploy[deploy.index('helm upgrade --install "${RELEASE:-jmmc}-database"') :]
    release = release[: release.index("--wait")]
    assert "$database_pinned" in release, "the preflight's arguments for the database release"


def test_production_takes_a_backup_before_any_migration():
    """Migrations are the platform release's pre-upgrade hooks: the backup precedes every helm
    upgrade of ci/helm.sh's deploy, and only a failed backup's message stops it."""
    script = (REPO / "ci" / "helm.sh").read_text()
    deploy = script[script.index("deploy() {") :]
    deploy = deploy[: deploy.index("\n}\n")]
    backup = deploy.index("ci/backup.sh")
    assert backup < deploy.index("helm upgrade")
    assert 'if [ "$environment" = production ]' in deploy[:backup]
    assert deploy.index("preflight") < backup, "nothing is backed up for a deploy refused"


def test_backup_stops_the_deploy_when_the_cluster_cannot_be_read(run: Run, tmp_path: Path):
    kubeconfig = tmp_path / "kubeconfig"
    # A cluster address on loopback where nothing listens.
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }))  # fmt: skip
    result = run(["ci/backup.sh", "production"], env={"KUBECONFIG": str(kubeconfig)})
    assert result.returncode != 0
    assert "cannot read the Cluster jmmc-db from the cluster: nothing deployed" in result.stderr


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
