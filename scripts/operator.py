"""Operator commands (run with credentials for the stack's account, or against the local runtime):

  python -m scripts.operator register-app-client --client-id <app client> --org-id <org>
  python -m scripts.operator configure-org --org-id <org> --default-region GB

Common options: --table (default customer-profiles-local; in AWS the stack's ProfilesTableName output),
--endpoint (DynamoDB endpoint, e.g. http://127.0.0.1:8000 for `make run`), --region.
Locally: make operator ARGS="register-app-client --client-id local-whitelabel-app --org-id org-demo"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boto3
import phonenumbers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "common"))

from customer_profiles.dal import ProfileStore
from customer_profiles.errors import Conflict
from customer_profiles.users import utc_now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="customer-profiles-local")
    parser.add_argument("--endpoint", default=None, help="DynamoDB endpoint, e.g. http://127.0.0.1:8000 locally")
    parser.add_argument("--region", default="us-east-1")
    commands = parser.add_subparsers(dest="command", required=True)
    app_client = commands.add_parser("register-app-client", help="a white-label app client registers users into an org")
    app_client.add_argument("--client-id", required=True)
    app_client.add_argument("--org-id", required=True)
    org = commands.add_parser("configure-org", help="an org's settings (the default region for phone numbers)")
    org.add_argument("--org-id", required=True)
    org.add_argument("--default-region", required=True, help="ISO 3166 region, e.g. GB, US, FR")
    args = parser.parse_args(argv)

    store = ProfileStore(args.table, boto3.resource("dynamodb", endpoint_url=args.endpoint, region_name=args.region))
    if args.command == "register-app-client":
        try:
            store.register_app_client(args.client_id, args.org_id, utc_now())
        except Conflict as error:
            print(f"refused: {error}", file=sys.stderr)
            return 1
        print(f"app client {args.client_id} now registers users into org {args.org_id}")
    else:
        region = args.default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            print(f"refused: {region} is not a region phonenumbers knows", file=sys.stderr)
            return 1
        store.configure_org(args.org_id, default_region=region, now=utc_now())
        print(f"org {args.org_id}: phone numbers without a country code are read as {region}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
