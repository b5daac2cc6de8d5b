#!/usr/bin/env python3
"""Smoke check of a deployed platform: every service's ``<prefix>/health`` answers 200 "ok".

    ci/smoke.py BASE_URL [SERVICE...] [--wait SECONDS]

BASE_URL is the public entry (HAProxy or the Ingress); with no SERVICE every service of
services/registry.yaml is checked, each under its public path. Exits 1 naming each failing
service and what it answered. Standard library only (the registry is read by ci/services.sh):
the verify job runs it with the runner's python3.
"""

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY_READER = Path(__file__).with_name("services.sh")


def public_paths() -> dict[str, str]:
    """Service name -> public path, in the registry's order."""
    listing = subprocess.run(
        [REGISTRY_READER, "path"], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split() for line in listing.splitlines())


def health(base_url: str, path: str) -> tuple[int, dict | str]:
    url = f"{base_url.rstrip('/')}{path}/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except OSError as error:
        return 0, str(error)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body[:200].decode(errors="replace")


def problem(base_url: str, service: str, path: str) -> str | None:
    status, report = health(base_url, path)
    if status == 200 and isinstance(report, dict) and report.get("status") == "ok":
        if report.get("service") != service:
            return f"{service}: {path}/health is served by {report.get('service')!r}"
        return None
    return f"{service}: HTTP {status or 'unreachable'}: {report}"


def main() -> int:
    paths = public_paths()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("services", nargs="*", default=list(paths))
    parser.add_argument("--wait", type=float, default=0, help="retry failures for this long")
    options = parser.parse_args()
    for service in options.services:
        if service not in paths:
            parser.error(f"unknown service {service!r}; known services: {' '.join(paths)}")
    deadline = time.monotonic() + options.wait
    while True:
        problems = [p for s in options.services if (p := problem(options.base_url, s, paths[s]))]
        if not problems or time.monotonic() >= deadline:
            break
        time.sleep(2)
    for line in problems:
        print(f"smoke: {line}", file=sys.stderr)
    if not problems:
        print(f"smoke: {', '.join(options.services)} healthy at {options.base_url}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
