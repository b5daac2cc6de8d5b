"""Derive the JSON schemas ``ci/helm.sh check`` validates this chart's custom resources with,
from the CustomResourceDefinitions of the operator version the chart targets.

    python charts/database/crd-schemas/derive.py cnpg-1.30.0.yaml objectstores.yaml

reads every CustomResourceDefinition of the files (CloudNativePG's release manifest, the
barman-cloud plugin's CRD) and writes ``<group>_<kind>.json`` here for the kinds of
:data:`KINDS`. kubernetes-validate has schemas for Kubernetes' own kinds only.

The API server prunes unknown fields of a custom resource silently, so a misspelt field would
reach nobody; the schemas therefore refuse any property the CRD does not declare
(``additionalProperties: false`` on every object listing its properties, unless the CRD keeps
unknown fields), as ``kubernetes-validate --strict`` does for Kubernetes' kinds. Descriptions
and ``status`` (never written by a chart) are dropped.
"""

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
#: The kinds this chart renders, and the Backup ``ci/backup.sh`` applies.
KINDS = {
    "postgresql.cnpg.io": ("Cluster", "Pooler", "ScheduledBackup", "Backup"),
    "barmancloud.cnpg.io": ("ObjectStore",),
}


def strict(schema: dict) -> dict:
    """``schema`` without descriptions, every object refusing properties it does not list."""
    result = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in ("properties", "patternProperties"):
            value = {name: strict(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            value = strict(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            value = [strict(child) for child in value]
        result[key] = value
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def resource_schema(crd: dict, source: str) -> tuple[str, dict]:
    """File name and JSON schema of the served storage version of ``crd``."""
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    schema = strict(version["schema"]["openAPIV3Schema"])
    schema["properties"].pop("status", None)
    api_version = f"{group}/{version['name']}"
    schema["properties"]["apiVersion"] = {"const": api_version}
    schema["properties"]["kind"] = {"const": kind}
    schema["required"] = sorted({*schema.get("required", ()), "apiVersion", "kind", "metadata"})
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"{kind} ({api_version}) of {source}: derive.py's strict form of its CRD",
        **schema,
    }
    return f"{group}_{kind.lower()}.json", document


def main(paths: list[str]) -> None:
    wanted = {(group, kind) for group, kinds in KINDS.items() for kind in kinds}
    written = set()
    for path in paths:
        for crd in yaml.safe_load_all(Path(path).read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            key = (crd["spec"]["group"], crd["spec"]["names"]["kind"])
            if key not in wanted:
                continue
            name, document = resource_schema(crd, Path(path).name)
            (HERE / name).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
            written.add(key)
    missing = sorted(f"{kind} ({group})" for group, kind in wanted - written)
    if missing:
        sys.exit(f"derive.py: no CustomResourceDefinition for {', '.join(missing)}")


if __name__ == "__main__":
    main(sys.argv[1:])
