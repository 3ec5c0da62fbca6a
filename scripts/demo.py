"""`make demo`: runs the README's walkthrough, exactly as written there, against a running `make run`, and
prints what happened at each step.

The walkthrough is the bash block between `<!-- walkthrough:start -->` and `<!-- walkthrough:end -->`; each
`# N. ...` comment starts a step. API and STATE_DIR, when set in the environment, replace the walkthrough's
first-line defaults (another port, another state folder); without API, the API is the one the `make run` on
STATE_DIR serves. With no local runtime there, it says to start `make run` first and runs nothing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
STEP = re.compile(r"^# (\d+)\. (.*)$")


def walkthrough() -> str:
    text = README.read_text()
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```bash\n", 1)[1].rsplit("```", 1)[0]


def script(block: str) -> str:
    """The walkthrough with each step announced, stopping at the first command that fails."""
    lines = ["set -euo pipefail"]
    for line in block.splitlines():
        if step := STEP.match(line):
            lines.append(f"printf '\\n== step %s: %s\\n' {step.group(1)} {_quoted(step.group(2))}")
        lines.append(line)
    lines.append("printf '\\n== the walkthrough ran to the end\\n'")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def running_api(state_dir: str) -> str:
    """The API of the `make run` running on `state_dir`; SystemExit saying to start it when none runs there."""
    from local_runtime.state import NotRunning, running_runtime

    try:
        return str(running_runtime(ROOT / state_dir)["api"])
    except NotRunning as error:
        raise SystemExit(f"make demo: {error}") from None


def answers(api: str) -> bool:
    address = urlsplit(api)
    try:
        socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=2).close()
    except OSError:
        return False
    return True


def main() -> int:
    block = walkthrough()
    state_dir = os.environ.get("STATE_DIR") or ".local"
    api = os.environ.get("API") or running_api(state_dir)
    if not answers(api):
        raise SystemExit(f"make demo: nothing answers at {api}: start `make run` first (in another shell)")
    for name, value in (("API", api), ("STATE_DIR", state_dir)):  # they win over the walkthrough's defaults
        block = re.sub(rf"\b{name}=\S+", f"{name}={value}", block, count=1)
    print(f"the README walkthrough against {api}")
    # the README's own commands, run as a reader would paste them
    return subprocess.run(["bash", "-c", script(block)], cwd=ROOT, check=False).returncode  # noqa: S603, S607


if __name__ == "__main__":
    sys.exit(main())
