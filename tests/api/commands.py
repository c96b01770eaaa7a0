"""Running the `tourdesk` command as a subprocess, as an operator would."""

import os
import subprocess
import sys


def tourdesk(
    *arguments: str, database: str = "", stdin: str = "", **environment: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOURDESK_ENV": "development", **environment}
    if database:
        env["TOURDESK_DATABASE_URL"] = database
    return subprocess.run(  # noqa: S603 (runs this project's own command)
        [sys.executable, "-m", "api.cli", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.strip().splitlines()
