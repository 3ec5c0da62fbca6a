"""`make demo` without a running `make run` says to start one first, and runs nothing (it said only
`curl: (7)`). The walkthrough itself runs in tests/integration/test_walkthrough.py."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def demo(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("API", "STATE_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "scripts.demo"],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_runtime_on_the_state_folder_it_says_to_start_make_run(tmp_path):
    result = demo(STATE_DIR=str(tmp_path))

    assert result.returncode != 0
    assert f"make demo: no local runtime is running on {tmp_path}: start `make run` first" in result.stderr
    assert "== step" not in result.stdout and "curl" not in result.stderr


def test_with_an_api_nothing_answers_it_says_to_start_make_run(tmp_path):
    result = demo(API="http://127.0.0.1:9", STATE_DIR=str(tmp_path))  # the discard port: nothing listens

    assert result.returncode != 0
    assert "nothing answers at http://127.0.0.1:9: start `make run` first" in result.stderr
    assert "== step" not in result.stdout
