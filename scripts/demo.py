"""`make demo`: runs the README's walkthrough, exactly as written there, against a running `make run`, and
prints what happened at each step.

The walkthrough is the bash block between `<!-- walkthrough:start -->` and `<!-- walkthrough:end -->`; each
`# N. ...` comment starts a step. API and STATE_DIR, when set in the environment, replace the walkthrough's
first-line defaults (another port, another state folder).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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


def main() -> int:
    block = walkthrough()
    for name in ("API", "STATE_DIR"):  # the environment's values win over the walkthrough's defaults
        if os.environ.get(name):
            block = re.sub(rf"\b{name}=\S+", f"{name}={os.environ[name]}", block, count=1)
    api = re.search(r"API=(\S+)", block)
    print(f"the README walkthrough against {api.group(1) if api else 'its API'}")
    # the README's own commands, run as a reader would paste them
    return subprocess.run(["bash", "-c", script(block)], cwd=ROOT, check=False).returncode  # noqa: S603, S607


if __name__ == "__main__":
    sys.exit(main())
