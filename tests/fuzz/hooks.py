"""Schemathesis hooks of the fuzzing tier (loaded through ``SCHEMATHESIS_HOOKS``).

- Every request carries an API token of a demo user: without it the account API answers 401
  before reading its input, and the fuzzer would never reach it. The fuzzer may revoke the very
  token it uses (DELETE /api/account/tokens/{id}); the 401 that follows makes schemathesis fetch
  a new token and replay the request. Tokens come from ``jmmc-accounts create-token`` against
  the database named by ``ACCOUNTS_DATABASE_URL``.
- Optional parameters are fuzzed as their type, not as "that type or null" (see below).
- HAProxy's own refusal of a request line longer than its buffer (16 kB) is not a service's
  answer: negative cases make every parameter of an operation too long at once (TAP's /sync
  has nine), and HAProxy answers with its HTML page before any service sees the request.
"""

import subprocess
import sys
from pathlib import Path

import schemathesis

from jmmc_devtools.platform import DEMO_ACCOUNTS

ACCOUNTS_COMMAND = Path(sys.executable).parent / "jmmc-accounts"
#: A user without the admin role: what most clients are.
USERNAME = next(account.username for account in DEMO_ACCOUNTS if "admin" not in account.roles)


#: The start of HAProxy's page for a request it refuses itself.
HAPROXY_REFUSAL = b"<html><body><h1>400 Bad request</h1>"


# Kept for the whole run: only a 401 (the token was revoked) asks for a new one.
@schemathesis.auth(refresh_interval=24 * 3600)
class DemoUserToken:
    def get(self, case, context) -> str:
        created = subprocess.run(
            [str(ACCOUNTS_COMMAND), "create-token", USERNAME, "fuzzing"],
            capture_output=True,
            text=True,
            check=True,
        )
        return created.stdout.strip()

    def set(self, case, token: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.hook
def before_load_schema(context, raw_schema: dict) -> None:
    """FastAPI declares an optional parameter as ``anyOf: [<type>, {type: null}]``. A query
    string or header has no null (the parameter is left out instead), and a schema without a
    top-level type gets none of the values of schemathesis.toml's dictionaries (NUL bytes,
    numbers past PostgreSQL's limits): fuzz the type itself."""
    for path_item in raw_schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = without_null(parameter["schema"])


def without_null(schema: dict) -> dict:
    alternatives = schema.get("anyOf", [])
    not_null = [alternative for alternative in alternatives if alternative.get("type") != "null"]
    if len(alternatives) != 2 or len(not_null) != 1:
        return schema
    annotations = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**annotations, **not_null[0]}


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    return not (response.status_code == 400 and response.content.startswith(HAPROXY_REFUSAL))
