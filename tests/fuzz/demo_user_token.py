"""Schemathesis hook: every request of the fuzzing tier carries an API token of a demo user.

Without it the account API answers 401 before reading its input, and the fuzzer would never
reach it. The fuzzer may revoke the very token it uses (DELETE /api/account/tokens/{id}); the
401 that follows makes schemathesis fetch a new token and replay the request. Tokens come from
``jmmc-accounts create-token`` against the database named by ``ACCOUNTS_DATABASE_URL``.
"""

import subprocess
import sys
from pathlib import Path

import schemathesis

from jmmc_devtools.platform import DEMO_ACCOUNTS

ACCOUNTS_COMMAND = Path(sys.executable).parent / "jmmc-accounts"
#: A user without the admin role: what most clients are.
USERNAME = next(account.username for account in DEMO_ACCOUNTS if "admin" not in account.roles)


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
