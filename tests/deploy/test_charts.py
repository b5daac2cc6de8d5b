"""The Helm charts: they lint, render, validate, and refuse bad input naming the culprit."""

import itertools
import re
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, SERVICES, Run

CHARTS = ["service", "postgres", "database", *SERVICES, "platform"]


def helm_template(run: Run, chart: str, *args: str) -> tuple[int, str]:
    """The chart's own values and ``args`` only: nothing stands in for required values."""
    result = run(["ci/helm.sh", "render", chart, "bare", *args])
    return result.returncode, result.stdout + result.stderr


def test_every_chart_lints_renders_and_passes_kubernetes_validate_and_checkov(run: Run):
    result = run(["ci/helm.sh", "check"])
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    for chart in CHARTS:
        for values in ("default", "production"):
            assert f"helm lint --strict and template: {chart} ({values} values)" in report
    assert "Failed checks: 0" in report


def test_the_cloudnative_pg_resources_are_checked_against_their_crd_schemas(run: Run):
    result = run(["ci/helm.sh", "check", "database"])
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    checked = next(line for line in report.splitlines() if "custom resources checked" in line)
    for values in ("default", "production"):
        for resource in ("Cluster/jmmc-db", "Pooler/postgres-pooler", "ObjectStore/",
                         "ScheduledBackup/jmmc-db-daily"):  # fmt: skip
            assert f"database-{values} {resource}" in checked


def test_a_misspelt_or_mistyped_custom_resource_field_fails_the_validation(
    run: Run, tmp_path: Path
):
    result = run(["ci/helm.sh", "render", "database", "default"])
    assert result.returncode == 0, result.stderr
    manifests = [document for document in yaml.safe_load_all(result.stdout) if document]
    for document in manifests:
        if document["kind"] == "Cluster":
            document["spec"]["walStorag"] = document["spec"].pop("walStorage")
            document["spec"]["plugins"][0]["isWALArchiver"] = "yes"
        if document["kind"] == "Pooler":
            pgbouncer = document["spec"]["pgbouncer"]
            pgbouncer["poolmode"] = pgbouncer.pop("poolMode")
    broken = tmp_path / "database.yaml"
    broken.write_text(yaml.safe_dump_all(manifests))
    result = run(["ci/helm.sh", "validate", broken])
    report = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Cluster/jmmc-db: spec: Additional properties are not allowed ('walStorag'" in report
    assert "Cluster/jmmc-db: spec.plugins.0.isWALArchiver: 'yes' is not of type 'boolean'" in report
    assert "Pooler/postgres-pooler: spec.pgbouncer: Additional properties" in report
    assert "'poolmode' was unexpected" in report


def test_a_kind_with_no_schema_fails_the_validation(run: Run, tmp_path: Path):
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("apiVersion: example.org/v1\nkind: Widget\nmetadata: {name: w}\n")
    result = run(["ci/helm.sh", "validate", unknown])
    assert result.returncode != 0
    assert "a kind without a schema" in result.stdout


def test_checkov_gate_catches_a_writable_root_filesystem_and_missing_probes(
    run: Run, tmp_path: Path
):
    """The gate is not a false green: the same checks fail on a weakened Deployment."""
    result = run(["ci/helm.sh", "render", "obsportal", "default", "--show-only",
                  "charts/service/templates/deployment.yaml"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    deployment = yaml.safe_load(result.stdout)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    del container["livenessProbe"]
    weakened = tmp_path / "weakened.yaml"
    weakened.write_text(yaml.safe_dump(deployment))
    result = run(["checkov", "-f", weakened, "--framework", "kubernetes", "--compact",
                  "--quiet", "--skip-download", "--check", "CKV_K8S_8,CKV_K8S_22"])  # fmt: skip
    assert result.returncode != 0
    assert "CKV_K8S_8" in result.stdout and "CKV_K8S_22" in result.stdout


def test_kubernetes_validate_strict_rejects_a_misspelt_field(run: Run, tmp_path: Path):
    result = run(["ci/helm.sh", "render", "jmdc", "default", "--show-only",
                  "charts/service/templates/service.yaml"])  # fmt: skip
    service = yaml.safe_load(result.stdout)
    service["spec"]["selectr"] = service["spec"].pop("selector")
    manifest = tmp_path / "service.yaml"
    manifest.write_text(yaml.safe_dump(service))
    result = run(["kubernetes-validate", "--strict", "-k", "1.30.0", manifest])
    assert result.returncode != 0
    assert "selectr" in result.stdout + result.stderr


@pytest.mark.parametrize("service", ["obsportal", "tap"])
def test_missing_image_tag_fails_naming_the_value(run: Run, service: str):
    status, output = helm_template(run, service, "--set", "service.secrets.existingSecret=s")
    assert status != 0
    assert f"image.tag (or global.imageTags.{service}) is required" in output


def test_missing_database_password_fails_naming_the_value(run: Run):
    status, output = helm_template(run, "jmdc", "--set", "service.image.tag=abc1234")
    assert status != 0
    assert "secrets.databasePassword (or secrets.existingSecret) is required" in output


def test_missing_postgres_superuser_password_fails_naming_the_value(run: Run):
    status, output = helm_template(run, "postgres")
    assert status != 0
    assert "auth.postgresPassword (or auth.existingSecret) is required" in output


def test_platform_without_image_tags_fails_naming_the_first_missing_one(run: Run):
    status, output = helm_template(
        run, "platform", "-f", "charts/platform/values-production.yaml",
        "--set", "global.imageTags.obsportal=abc1234",
    )  # fmt: skip
    assert status != 0
    assert "is required: the commit SHA or digest of the image to run" in output
    assert "global.imageTags.obsportal" not in output


def test_values_file_violating_the_schema_fails_with_its_path(run: Run, tmp_path: Path):
    values = tmp_path / "values-broken.yaml"
    values.write_text("obsportal:\n  service:\n    config:\n      logLevel: LOUD\n")
    status, output = helm_template(run, "platform", "-f", str(values))
    assert status != 0
    assert "/config/logLevel" in output
    assert "'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'" in output


def test_unknown_top_level_value_is_refused(run: Run, tmp_path: Path):
    values = tmp_path / "values-typo.yaml"
    values.write_text("persistance:\n  size: 10Gi\n")
    status, output = helm_template(
        run, "postgres", "-f", str(values), "--set", "auth.postgresPassword=x"
    )
    assert status != 0
    assert "persistance" in output


def undocumented_values(path: Path) -> list[str]:
    """Keys holding a value with no `# --` comment, on themselves or on an enclosing key."""
    lines = path.read_text().splitlines()
    enclosing: list[tuple[int, bool]] = []  # (indent, documented) of the keys we are inside
    missing = []
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z]\w*):(.*)$", line)
        if not match:
            continue
        indent, key, value = len(match[1]), match[2], match[3].strip()
        while enclosing and enclosing[-1][0] >= indent:
            enclosing.pop()
        comment = list(itertools.takewhile(lambda text: text.strip().startswith("#"),
                                           reversed(lines[:number])))  # fmt: skip
        documented = any(text.strip().startswith("# --") for text in comment)
        following = next((text for text in lines[number + 1 :] if text.strip()), "")
        holds_value = value != "" or len(following) - len(following.lstrip()) <= indent
        if holds_value and not documented and not any(d for _, d in enclosing):
            missing.append(f"{path.relative_to(REPO)}:{number + 1} {key}")
        enclosing.append((indent, documented))
    return missing


@pytest.mark.parametrize("chart", CHARTS)
def test_every_value_is_documented_and_the_chart_has_a_schema(chart: str):
    directory = REPO / "charts" / chart
    assert (directory / "values.schema.json").is_file()
    for values in sorted(directory.glob("values*.yaml")):
        assert undocumented_values(values) == []
