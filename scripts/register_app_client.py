"""Operator command: register a white-label app client as belonging to an org.

  python -m scripts.register_app_client --client-id <app client id> --org-id <org id> \\
      [--table customer-profiles-<stage>] [--endpoint http://127.0.0.1:8000]

Locally (`make run` running): `make register-app-client ARGS="--client-id local-whitelabel-app --org-id org-demo"`.
In AWS, run it with credentials for the stack's account and `--table` from the stack's ProfilesTableName output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "common"))

from customer_profiles.dal import ProfileStore
from customer_profiles.errors import Conflict
from customer_profiles.users import utc_now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--org-id", required=True)
    parser.add_argument("--table", default="customer-profiles-local")
    parser.add_argument("--endpoint", default=None, help="DynamoDB endpoint, e.g. http://127.0.0.1:8000 locally")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    dynamodb = boto3.resource("dynamodb", endpoint_url=args.endpoint, region_name=args.region)
    try:
        ProfileStore(args.table, dynamodb).register_app_client(args.client_id, args.org_id, utc_now())
    except Conflict as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    print(f"app client {args.client_id} now registers users into org {args.org_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
