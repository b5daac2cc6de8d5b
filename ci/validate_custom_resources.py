"""Custom resources of rendered manifests against the strict schemas derived from their CRDs.

    python ci/validate_custom_resources.py SCHEMAS CORE MANIFEST...

Every custom resource with a schema in SCHEMAS (``<group>_<kind>.json``, from
``charts/database/crd-schemas/derive.py``) is checked, every error printed with its path.
Everything else (Kubernetes' own kinds) is written to CORE, one file per manifest, for
kubernetes-validate. Exits 1 when a resource breaks its schema. Run by ``ci/helm.sh validate``.
"""

import json
import sys
from pathlib import Path

import jsonschema
import yaml


def main() -> int:
    schemas, core, *manifests = (Path(argument) for argument in sys.argv[1:])
    failed, checked = False, []
    for number, path in enumerate(manifests):
        others = []
        for document in yaml.safe_load_all(path.read_text()):
            if not document:
                continue
            group = document.get("apiVersion", "").rpartition("/")[0]
            schema = schemas / f"{group}_{document.get('kind', '').lower()}.json"
            if not group or not schema.is_file():
                others.append(document)
                continue
            name = f"{path.stem} {document['kind']}/{document.get('metadata', {}).get('name')}"
            validator = jsonschema.Draft202012Validator(json.loads(schema.read_text()))
            for error in sorted(validator.iter_errors(document), key=lambda error: str(error.path)):
                where = ".".join(str(part) for part in error.path) or "(document)"
                print(f"ERROR {name}: {where}: {error.message}")
                failed = True
            checked.append(name)
        # Kubernetes' own kinds, for kubernetes-validate (numbered: two manifests may share a
        # name).
        (core / f"{number}-{path.name}").write_text(yaml.safe_dump_all(others))
    print(f"{len(checked)} custom resources checked: {', '.join(checked) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
