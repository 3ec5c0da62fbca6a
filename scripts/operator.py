"""Operator commands (run with credentials for the stack's account, or against the local runtime):

  python -m scripts.operator register-app-client --client-id <app client> --org-id <org>
  python -m scripts.operator configure-org --org-id <org> --default-region GB
  python -m scripts.operator register-partner --partner-id <id> --name <name> --org-id <org> [--org-id ...]
      [--rotate] [--secrets-file .local/partner-secrets.json | --secrets-prefix customer-profiles/<stage>/partners/
      --usage-plan-id <PartnerUsagePlanId>]
  python -m scripts.operator add-staff --org-id <org> --subject <IdP sub> --role admin [--role pos ...]
  python -m scripts.operator remove-staff --org-id <org> --subject <IdP sub>
  python -m scripts.operator redrive --state-dir .local        (locally; `relink` is an alias)
  python -m scripts.operator redrive --event-bus <EventBusName> --claim-key-secret <arn> --claim-url-base <url>
      --queue-url <LinkerFailureQueueUrl>                          (in AWS)
  python -m scripts.operator run-schedule [--now 2026-05-01T12:00:00Z] [--limit 1000]
      (the claim schedule's reminders and expiries now; --now only against the local table)

Common options: --table (default customer-profiles-local; in AWS the stack's ProfilesTableName output),
--endpoint (DynamoDB endpoint; default with the local table: the running `make run`'s), --region.
Locally: make operator ARGS="register-app-client --client-id local-whitelabel-app --org-id org-demo"
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import phonenumbers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "common"))

from customer_profiles.data.store import Store
from customer_profiles.domain import memberships
from customer_profiles.domain.users import utc_now
from customer_profiles.errors import Conflict, DomainError
from customer_profiles.models.domain import Partner

LOCAL_TABLE = "customer-profiles-local"
ROOT = Path(__file__).resolve().parent.parent


def local_endpoint() -> str | None:
    """The DynamoDB of the `make run` running on STATE_DIR (default .local), if one is."""
    from local_runtime.staff import LocalStaffError, running_dynamodb

    try:
        return running_dynamodb(ROOT / os.environ.get("STATE_DIR", ".local"))[0]
    except LocalStaffError:
        return None


def register_partner(store: Store, args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", args.partner_id):
        print("refused: a partner id is letters, digits, _ and - (at most 64)", file=sys.stderr)
        return 1
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    if args.secrets_file:
        every = json.loads(args.secrets_file.read_text()) if args.secrets_file.exists() else {}
        every[args.partner_id] = [secret, *every.get(args.partner_id, [])[:1]] if args.rotate else [secret]
        args.secrets_file.parent.mkdir(parents=True, exist_ok=True)
        args.secrets_file.write_text(json.dumps(every, indent=2))
        args.secrets_file.chmod(0o600)
    else:
        manager = boto3.client("secretsmanager", region_name=args.region)
        name = f"{args.secrets_prefix}{args.partner_id}"
        try:
            previous = json.loads(manager.get_secret_value(SecretId=name)["SecretString"]).get("secrets", [])
            kept = [secret, *previous[:1]] if args.rotate else [secret]
            manager.put_secret_value(SecretId=name, SecretString=json.dumps({"secrets": kept}))
        except manager.exceptions.ResourceNotFoundException:
            manager.create_secret(Name=name, SecretString=json.dumps({"secrets": [secret]}))
    store.put_partner(
        Partner(partner_id=args.partner_id, display_name=args.name, org_ids=sorted(set(args.org_id))), utc_now()
    )
    print(secret)
    if args.usage_plan_id:  # in AWS the webhook route takes an API key per partner, limited by the usage plan
        gateway = boto3.client("apigateway", region_name=args.region)
        key = gateway.create_api_key(name=f"partner-{args.partner_id}", enabled=True, tags={"partner": args.partner_id})
        gateway.create_usage_plan_key(usagePlanId=args.usage_plan_id, keyId=key["id"], keyType="API_KEY")
        print(f"x-api-key: {key['value']}")
    return 0


def staff(store: Store, args: argparse.Namespace) -> int:
    """An org's first admin (and any later change): the service keeps staff rights, tokens grant none."""
    try:
        if args.command == "add-staff":
            membership, _ = memberships.grant(store, args.org_id, args.subject, args.role)
            print(f"{args.subject} is staff of {args.org_id}: {', '.join(membership.roles)}")
        else:
            memberships.revoke(store, args.org_id, args.subject)
            print(f"{args.subject} is no longer staff of {args.org_id}")
    except DomainError as error:
        print(f"refused: {error.message}", file=sys.stderr)
        return 1
    return 0


def redrive(store: Store, args: argparse.Namespace) -> int:
    """Complete every pending effect from the table, then clear the linker's failure messages, but only when
    nothing is left pending: a message is never deleted for work that was not done."""
    local = args.state_dir and {  # the local runtime's event sink and claim-token key
        "LOCAL_EVENT_SINK": str(args.state_dir / "events.jsonl"),
        "LOCAL_CLAIM_TOKEN_KEY_FILE": str(args.state_dir / "claim-token.key"),
    }
    aws = {"EVENT_BUS_NAME": args.event_bus, "CLAIM_TOKEN_KEY_SECRET": args.claim_key_secret}
    os.environ.update({k: v for k, v in {**(local or aws), "CLAIM_URL_BASE": args.claim_url_base}.items() if v})
    from customer_profiles.domain import effects
    from customer_profiles.edge import config
    from customer_profiles.edge.events import default_publisher

    config.settings.cache_clear()
    default_publisher.cache_clear()

    failures = args.failures_file or (args.state_dir / "linker-failures.jsonl" if args.state_dir else None)
    messages: list = []
    if args.queue_url:  # drained first: a failure that lands while we re-drive stays for the next run
        sqs = boto3.client("sqs", region_name=args.region)
        while batch := sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            messages += batch
    elif failures and failures.exists():
        messages = failures.read_text().splitlines()
    result = effects.redrive(store, default_publisher().publish)
    for failure in result.failed:
        print(f"still failing: {failure}", file=sys.stderr)
    left = len(store.all_pending())
    if left:
        print(f"completed {result.done} pending effects; {left} still pending; failure messages kept")
        return 1
    print(f"completed {result.done} pending effects; {len(messages)} failure messages cleared")
    if args.queue_url:
        for message in messages:
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
    elif failures and failures.exists():
        remaining = failures.read_text().splitlines()[len(messages) :]
        failures.write_text("".join(line + "\n" for line in remaining))
    return 0


def run_schedule(store: Store, args: argparse.Namespace) -> int:
    """The claim schedule's work, as the linker's schedule does it every 5 minutes: reminders and expiries due
    at `--now` (default: now). The reminders' notifications are pending effects the stream then publishes
    (locally: the running `make run`'s poller)."""
    from customer_profiles.domain import claim_schedule

    if args.now and args.table != LOCAL_TABLE:
        print("refused: --now moves the clock only for the local table", file=sys.stderr)
        return 1
    now = args.now or utc_now()
    result = claim_schedule.run(store, now, limit=args.limit)
    for failure in result.failed:
        print(f"failed: {failure}", file=sys.stderr)
    print(
        f"at {now}: {len(result.reminded)} reminders requested, {len(result.expired)} claims expired, "
        f"{result.dropped} due items dropped, {result.lost} settled meanwhile, {len(result.failed)} failed"
        + ("; more is due: run again" if result.more else "")
    )
    return 1 if result.failed else 0


def _instant(text: str) -> str:
    """An ISO instant (UTC when it names no offset), written as `utc_now` writes one."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO instant: {text}") from error
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default=LOCAL_TABLE)
    parser.add_argument(
        "--endpoint", default=None, help="DynamoDB endpoint (default with the local table: the running `make run`'s)"
    )
    parser.add_argument("--region", default="us-east-1")
    commands = parser.add_subparsers(dest="command", required=True)
    app_client = commands.add_parser("register-app-client", help="a white-label app client registers users into an org")
    app_client.add_argument("--client-id", required=True)
    app_client.add_argument("--org-id", required=True)
    org = commands.add_parser("configure-org", help="an org's settings (the default region for phone numbers)")
    org.add_argument("--org-id", required=True)
    org.add_argument("--default-region", required=True, help="ISO 3166 region, e.g. GB, US, FR")
    partner = commands.add_parser(
        "register-partner",
        help="register (or update) a reseller and print a new webhook signing secret",
        description="Without --rotate the new secret replaces the old ones; with it, the newest previous "
        "secret stays valid too until the next rotation, so the partner can switch without failed deliveries.",
    )
    partner.add_argument("--partner-id", required=True)
    partner.add_argument("--name", required=True)
    partner.add_argument("--org-id", action="append", required=True, help="an org it may sell for (repeatable)")
    partner.add_argument("--rotate", action="store_true")
    partner.add_argument(
        "--usage-plan-id", help="AWS: the stack's PartnerUsagePlanId output; prints a new API key for the partner"
    )
    where = partner.add_mutually_exclusive_group(required=True)
    where.add_argument("--secrets-file", type=Path, help="the local runtime's .local/partner-secrets.json")
    where.add_argument("--secrets-prefix", help="Secrets Manager name prefix: customer-profiles/<stage>/partners/")
    add_staff = commands.add_parser(
        "add-staff",
        help="make an identity provider subject staff of an org (an org's first admin comes from here)",
        description="Sets the subject's roles in the org (replacing earlier ones). Takes effect on the subject's "
        "next token, or within the authorizer's cache time (ReauthorizeEvery) for a token already in use.",
    )
    add_staff.add_argument("--org-id", required=True)
    add_staff.add_argument("--subject", required=True, help="the staff member's sub claim at the identity provider")
    add_staff.add_argument("--role", action="append", required=True, choices=["admin", "pos", "viewer"])
    remove_staff = commands.add_parser("remove-staff", help="revoke a subject's membership of an org")
    remove_staff.add_argument("--org-id", required=True)
    remove_staff.add_argument("--subject", required=True)
    drive = commands.add_parser(
        "redrive",
        aliases=["relink"],
        help="complete every pending effect (links, re-keys, events, claim notifications), then clear the "
        "linker's failure messages",
        description="Failure messages carry only a batch's sequence range, not its records, so the re-drive "
        "works from the table: every effect the stream drives stays pending until it is done, and this "
        "completes them all. Locally: --state-dir .local; in AWS: --event-bus, --claim-key-secret, "
        "--claim-url-base and --queue-url from the stack's outputs and parameters.",
    )
    drive.add_argument("--state-dir", type=Path, help="the local runtime's state folder (.local)")
    drive.add_argument("--event-bus", help="the stack's EventBusName output (AWS)")
    drive.add_argument("--claim-key-secret", help="the claim-token key's secret ARN (AWS)")
    drive.add_argument("--claim-url-base", help="the ClaimUrlBase parameter (AWS)")
    drained = drive.add_mutually_exclusive_group()
    drained.add_argument("--queue-url", help="the stack's LinkerFailureQueueUrl output (AWS)")
    drained.add_argument("--failures-file", type=Path, help="default: <state-dir>/linker-failures.jsonl")
    schedule = commands.add_parser(
        "run-schedule",
        help="the claim schedule now: reminders 48 hours before expiry (once per claim) and expired claims",
        description="What the linker's 5-minute schedule does for claims, on demand. Locally, --now runs it as "
        "if it were that instant (e.g. a day before a test claim expires).",
    )
    schedule.add_argument("--now", type=_instant, help="an ISO instant to run at (local table only; default: now)")
    schedule.add_argument("--limit", type=int, default=1000, help="due items settled at most (default 1000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    if args.endpoint is None and args.table == LOCAL_TABLE:
        args.endpoint = local_endpoint()
    # DynamoDB Local takes any credentials; a laptop may have none configured at all.
    local_credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"} if args.endpoint else {}
    dynamodb = boto3.resource("dynamodb", endpoint_url=args.endpoint, region_name=args.region, **local_credentials)
    store = Store(args.table, dynamodb)
    if args.command == "register-app-client":
        try:
            store.register_app_client(args.client_id, args.org_id, utc_now())
        except Conflict as error:
            print(f"refused: {error}", file=sys.stderr)
            return 1
        print(f"app client {args.client_id} now registers users into org {args.org_id}")
    elif args.command == "register-partner":
        return register_partner(store, args)
    elif args.command in ("add-staff", "remove-staff"):
        return staff(store, args)
    elif args.command in ("redrive", "relink", "run-schedule"):
        return (run_schedule if args.command == "run-schedule" else redrive)(store, args)
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
