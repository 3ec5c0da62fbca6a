"""Mint a local token: ``python -m local_runtime.token --sub alice --email a@example.com --email-verified``.

With ``--org ORG --role ROLE``, the subject is first made staff of ORG in the running local runtime (a
membership, as `add-staff` makes one), and the token comes from the staff console.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from local_runtime.idp import AUDIENCES, DEFAULT_STATE_DIR, mint_token
from local_runtime.staff import LocalStaffError, grant_local, running_dynamodb

STAFF_CONSOLE = "local-staff-console"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime.token", description=__doc__)
    parser.add_argument("--sub", required=True, help="the user id (sub claim)")
    parser.add_argument("--email")
    parser.add_argument("--email-verified", action="store_true")
    parser.add_argument("--phone", dest="phone_number", help="E.164 phone number")
    parser.add_argument("--phone-verified", action="store_true")
    parser.add_argument("--org", dest="org_id", help="make the subject staff of this org (needs `make run` up)")
    parser.add_argument(
        "--role", dest="roles", action="append", default=[], choices=["admin", "pos", "viewer"], help="repeatable"
    )
    parser.add_argument(
        "--client",
        dest="client_id",
        help=f"app client id, one of {AUDIENCES} (default: the staff console with --org, else the consumer app)",
    )
    parser.add_argument("--access", action="store_true", help="an access token (no identifiers) instead of an ID token")
    parser.add_argument("--ttl", dest="ttl_seconds", type=int, default=3600)
    parser.add_argument(
        "--claim",
        dest="extra_claims",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another claim, e.g. --claim given_name=Alice (repeatable)",
    )
    parser.add_argument(
        "--state-dir",
        default=os.environ.get("STATE_DIR") or str(DEFAULT_STATE_DIR),
        help="the state folder of the `make run` to use (default: STATE_DIR, else .local)",
    )
    args = parser.parse_args(argv)
    if args.org_id:
        if not args.roles:
            parser.error("--org needs at least one --role")
        try:
            grant_local(*running_dynamodb(Path(args.state_dir)), args.org_id, args.sub, args.roles)
        except LocalStaffError as error:
            print(error, file=sys.stderr)
            return 2
    token = mint_token(
        args.sub,
        email=args.email,
        email_verified=args.email_verified,
        phone_number=args.phone_number,
        phone_number_verified=args.phone_verified,
        client_id=args.client_id or (STAFF_CONSOLE if args.org_id else None),
        access_token=args.access,
        ttl_seconds=args.ttl_seconds,
        state_dir=args.state_dir,
        extra_claims=dict(claim.split("=", 1) for claim in args.extra_claims),
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
