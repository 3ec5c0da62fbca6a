"""Installs a requirements file into a virtualenv, saying how far it got: `pip --quiet` is silent for a minute or
two on a first setup, and pip's full output is hundreds of lines. pip's output goes to a log file, whose tail is
shown when it fails.

    python -m scripts.install VENV/bin/python requirements-dev.txt .make/pip-dev.log
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

EVERY_SECONDS = 10.0


def main(python: str, requirements: str, log_path: str) -> int:
    started = time.monotonic()
    log = Path(log_path)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [python, "-m", "pip", "install", "--progress-bar", "off", "--upgrade", "pip", "-r", requirements]
    venv = Path(python).parent.parent
    print(f"setup: installing {requirements} into {venv} (1-2 minutes the first time)", file=sys.stderr, flush=True)
    state: dict[str, Any] = {"collected": 0, "phase": "packages collected"}
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(EVERY_SECONDS):
            elapsed = time.monotonic() - started
            said = f"setup: {requirements}: {state['collected']} {state['phase']} ({elapsed:.0f} s)"
            print(said, file=sys.stderr, flush=True)

    threading.Thread(target=heartbeat, daemon=True).start()
    with (
        log.open("w") as out,
        subprocess.Popen(  # noqa: S603 - pip of the virtualenv we made
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as pip,
    ):
        assert pip.stdout is not None
        for line in pip.stdout:
            out.write(line)
            if line.startswith("Collecting "):
                state["collected"] += 1
            elif line.startswith("Installing collected packages"):
                state["phase"] = "packages collected, installing them"
    done.set()
    if pip.returncode != 0:
        print("".join(log.read_text().splitlines(keepends=True)[-30:]), file=sys.stderr)
        print(f"setup: pip failed (its whole output: {log})", file=sys.stderr)
        return pip.returncode
    print(f"setup: {requirements} installed ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
