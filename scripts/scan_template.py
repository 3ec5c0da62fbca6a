"""Runs the field's template scanners on template.yaml: cfn-lint with the cfn-lint-serverless rules, and checkov.

Run with the scanners' own virtualenv (`make lint` does: checkov pins a boto3 older than ours). Findings
listed in template-scan.yaml, each with its reason, are accepted; any other fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    accepted = yaml.safe_load((ROOT / "template-scan.yaml").read_text())
    lint = subprocess.run(  # noqa: S603 - fixed command lines, the scanners in our own virtualenv
        [
            str(BIN / "cfn-lint"),
            "--append-rules",
            "cfn_lint_serverless.rules",
            "--ignore-checks",
            *accepted["cfn-lint"],
            "--",
            "template.yaml",
        ],
        cwd=ROOT,
        check=False,
    )
    scan = subprocess.run(  # noqa: S603 - as above
        [
            str(BIN / "checkov"),
            "--file",
            "template.yaml",
            "--framework",
            "cloudformation",
            "--skip-check",
            ",".join(accepted["checkov"]),
            "--compact",
            "--quiet",
            "--skip-download",  # no network: no guideline links from Prisma Cloud
        ],
        cwd=ROOT,
        check=False,
    )
    if lint.returncode or scan.returncode:
        print("template scan: findings above (accept one only in template-scan.yaml, with its reason)")
        return 1
    print(f"template scan: clean ({len(accepted['cfn-lint'])} + {len(accepted['checkov'])} accepted findings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
