"""Operator commands (run with credentials for the stack's account, or against the local runtime):

  python -m scripts.operator register-app-client --client-id <app client> --org-id <org>
  python -m scripts.operator configure-org --org-id <org> --default-region GB
  python -m scripts.operator relink [--queue-url <LinkerFailureQueueUrl> | --failures-file .local/linker-failures.jsonl]

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

from customer_profiles import linking
from customer_profiles.dal import ProfileStore
from customer_profiles.errors import Conflict
from customer_profiles.users import utc_now


def relink_and_drain(store: ProfileStore, args: argparse.Namespace) -> int:
    # Drain first: a failure that lands while we relink stays for the next run.
    messages = []
    if args.queue_url:
        sqs = boto3.client("sqs", region_name=args.region)
        while batch := sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            messages += batch
    elif args.failures_file and args.failures_file.exists():
        messages = args.failures_file.read_text().splitlines()
    done, failed = linking.relink_pending(store)
    for failure in failed:
        print(f"still failing: {failure}", file=sys.stderr)
    if failed:
        print(f"relinked {len(done)} merged users; {len(failed)} still pending; failure messages kept")
        return 1
    print(f"relinked {len(done)} merged users; {len(messages)} failure messages cleared")
    if args.queue_url:
        for message in messages:
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
    elif args.failures_file and args.failures_file.exists():
        remaining = args.failures_file.read_text().splitlines()[len(messages) :]
        args.failures_file.write_text("".join(line + "\n" for line in remaining))
    return 0


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
    relink = commands.add_parser(
        "relink",
        help="re-drive: run every pending link task again, then clear the linker's failure messages",
        description="Failure messages carry only a batch's sequence range, not its records, so the re-drive "
        "works from the table: every merge leaves a link task until it is done, and this runs them all.",
    )
    drained = relink.add_mutually_exclusive_group()
    drained.add_argument("--queue-url", help="the stack's LinkerFailureQueueUrl output (AWS)")
    drained.add_argument("--failures-file", type=Path, help="the local runtime's .local/linker-failures.jsonl")
    args = parser.parse_args(argv)

    store = ProfileStore(args.table, boto3.resource("dynamodb", endpoint_url=args.endpoint, region_name=args.region))
    if args.command == "register-app-client":
        try:
            store.register_app_client(args.client_id, args.org_id, utc_now())
        except Conflict as error:
            print(f"refused: {error}", file=sys.stderr)
            return 1
        print(f"app client {args.client_id} now registers users into org {args.org_id}")
    elif args.command == "relink":
        return relink_and_drain(store, args)
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
