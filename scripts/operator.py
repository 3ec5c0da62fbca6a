"""Operator commands, against the local runtime or a deployed stack:

  make operator ARGS="COMMAND ..."                                the running `make run` (its STATE_DIR)
  make operator ARGS="--stack customer-profiles-dev COMMAND ..."  a deployed stack (AWS credentials)
  make operator ARGS="--endpoint URL [--table T] COMMAND ..."     a DynamoDB of your own (another DynamoDB Local)

  register-app-client --client-id <app client> --org-id <org>
  configure-org --org-id <org> --default-region GB
  register-partner --partner-id <id> --name <name> --org-id <org> [--org-id ...] [--rotate]
      (its secret: locally in STATE_DIR/partner-secrets.json; with --stack in Secrets Manager, with an API key
      in the stack's usage plan)
  add-staff --org-id <org> --subject <IdP sub> --role admin [--role pos ...]
  remove-staff --org-id <org> --subject <IdP sub>
  redrive                       complete every pending effect, then clear the linker's failure messages
  run-schedule [--now 2026-05-01T12:00:00Z] [--limit 1000]
      (the claim schedule's reminders and expiries now; --now only locally)

Locally the commands use the DynamoDB of the `make run` running on STATE_DIR (default .local) and refuse when
none runs there: they never fall through to AWS. Against AWS they need --stack: the tables, queue, event bus
and secrets come from the stack's outputs and parameters, the region from --region, else AWS's usual settings
(AWS_REGION, the profile), else samconfig.toml's.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "common"))
try:
    import boto3
    import phonenumbers
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from customer_profiles.clock import utc_now
    from customer_profiles.data.store import Store
    from customer_profiles.domain.staff import memberships
    from customer_profiles.errors import Conflict, DomainError
    from customer_profiles.models.domain import Partner
except ImportError as missing:  # a Python without the project's packages (the system's `python`)
    sys.exit(
        f"scripts.operator needs the project's virtualenv ({missing.name} is missing): run it as "
        f'`make operator ARGS="..."` from {ROOT}'
    )

LOCAL_TABLE = "customer-profiles-local"
LOCAL_REQUESTS_TABLE = "customer-profiles-idempotency-local"


class Refused(Exception):
    """The command cannot run as asked (a one-line message saying what to do)."""


@dataclass
class Target:
    """Where the commands act: the local runtime's DynamoDB (`state_dir`), a DynamoDB given by `--endpoint`,
    or a deployed stack (`stack`: its outputs and parameters)."""

    table: str
    region: str
    requests_table: str = ""  # idempotent answers: an erasure's effects delete those about its profiles there
    endpoint: str | None = None
    state_dir: Path | None = None
    stack: dict[str, str] = field(default_factory=dict)

    def dynamodb(self) -> Any:
        if self.endpoint:  # DynamoDB Local takes any credentials; a laptop may have none configured at all
            return boto3.resource(
                "dynamodb",
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return boto3.resource("dynamodb", region_name=self.region)


def samconfig_region() -> str:
    """The region `sam deploy` uses by default (samconfig.toml's default environment)."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    return str(config["default"]["global"]["parameters"]["region"])


def aws_region(given: str | None) -> str:
    return given or boto3.session.Session().region_name or samconfig_region()


def describe_stack(name: str, region: str) -> dict[str, str]:
    """The stack's outputs, and its parameters as `parameter:Name`."""
    try:
        stacks = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=name)["Stacks"]
    except NoCredentialsError:
        raise Refused(f"--stack {name}: no AWS credentials found (aws configure, or AWS_PROFILE)") from None
    except ClientError as error:
        raise Refused(f"--stack {name} in {region}: {error.response['Error']['Message']}") from None
    except BotoCoreError as error:
        raise Refused(f"--stack {name} in {region}: {error}") from None
    stack = stacks[0]
    values = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    values.update({f"parameter:{p['ParameterKey']}": p.get("ParameterValue", "") for p in stack.get("Parameters", [])})
    return values


def resolve_target(args: argparse.Namespace) -> Target:
    if args.stack:
        if args.endpoint:
            raise Refused("--stack and --endpoint: give one (a deployed stack, or a DynamoDB of your own)")
        region = aws_region(args.region)
        stack = describe_stack(args.stack, region)
        if "ProfilesTableName" not in stack:
            raise Refused(f"stack {args.stack} has no ProfilesTableName output: is it this service's stack?")
        return Target(
            table=args.table or stack["ProfilesTableName"],
            requests_table=args.requests_table or stack.get("IdempotencyTableName", ""),
            region=region,
            stack=stack,
        )
    if args.endpoint:
        return Target(
            table=args.table or LOCAL_TABLE,
            requests_table=args.requests_table or LOCAL_REQUESTS_TABLE,
            region=args.region or "us-east-1",
            endpoint=args.endpoint,
        )
    if args.table or args.requests_table:
        raise Refused(
            f"--table {args.table or args.requests_table}: in which DynamoDB? --stack NAME for a deployed "
            "stack's tables, --endpoint URL for a DynamoDB of your own"
        )
    from local_runtime.state import NotRunning, running_runtime

    state_dir = Path(args.state_dir or os.environ.get("STATE_DIR") or ".local")
    state_dir = state_dir if state_dir.is_absolute() else ROOT / state_dir
    try:
        running = running_runtime(state_dir)
    except NotRunning as error:
        raise Refused(f"{error}; for a deployed stack: --stack NAME") from None
    return Target(
        table=str(running["table"]),
        requests_table=str(running.get("requests_table", LOCAL_REQUESTS_TABLE)),
        region="us-east-1",
        endpoint=str(running["dynamodb_endpoint"]),
        state_dir=state_dir,
    )


def register_partner(store: Store, target: Target, args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", args.partner_id):
        raise Refused("a partner id is letters, digits, _ and - (at most 64)")
    secrets_file = args.secrets_file or (target.state_dir / "partner-secrets.json" if target.state_dir else None)
    prefix = args.secrets_prefix or (
        f"customer-profiles/{target.stack['parameter:Stage']}/partners/" if target.stack else None
    )
    usage_plan = args.usage_plan_id or target.stack.get("PartnerUsagePlanId")
    if (args.secrets_prefix or args.usage_plan_id) and not target.stack:
        raise Refused("--secrets-prefix and --usage-plan-id are a deployed stack's: give --stack NAME")
    if secrets_file is None and prefix is None:
        raise Refused("where does the partner's secret go? --secrets-file (a local runtime's) or --stack")
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    if secrets_file:
        every = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
        every[args.partner_id] = [secret, *every.get(args.partner_id, [])[:1]] if args.rotate else [secret]
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        secrets_file.write_text(json.dumps(every, indent=2))
        secrets_file.chmod(0o600)
    else:
        manager = boto3.client("secretsmanager", region_name=target.region)
        name = f"{prefix}{args.partner_id}"
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
    if usage_plan and not target.endpoint:  # in AWS the webhook route takes an API key per partner (usage plan)
        gateway = boto3.client("apigateway", region_name=target.region)
        key = gateway.create_api_key(name=f"partner-{args.partner_id}", enabled=True, tags={"partner": args.partner_id})
        gateway.create_usage_plan_key(usagePlanId=usage_plan, keyId=key["id"], keyType="API_KEY")
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


def redrive(store: Store, target: Target, args: argparse.Namespace) -> int:
    """Complete every pending effect from the table, then clear the linker's failure messages, but only when
    nothing is left pending: a message is never deleted for work that was not done."""
    if (args.queue_url or args.event_bus or args.claim_key_secret) and not target.stack:
        raise Refused("--queue-url, --event-bus and --claim-key-secret are a deployed stack's: give --stack NAME")
    state_dir = args.redrive_state_dir or target.state_dir
    queue_url = args.queue_url or target.stack.get("LinkerFailureQueueUrl")
    where: dict[str, str | None]
    if state_dir:  # the local runtime's event sink and claim-token key
        where = {
            "LOCAL_EVENT_SINK": str(state_dir / "events.jsonl"),
            "LOCAL_CLAIM_TOKEN_KEY_FILE": str(state_dir / "claim-token.key"),
        }
    else:
        where = {
            "EVENT_BUS_NAME": args.event_bus or target.stack.get("EventBusName"),
            "CLAIM_TOKEN_KEY_SECRET": args.claim_key_secret or target.stack.get("ClaimTokenKeyArn"),
        }
    claim_url_base = args.claim_url_base or target.stack.get("parameter:ClaimUrlBase")
    os.environ.update({k: v for k, v in {**where, "CLAIM_URL_BASE": claim_url_base}.items() if v})
    if target.region and not target.endpoint:
        os.environ.setdefault("AWS_REGION", target.region)
    from customer_profiles.domain.effects import effects
    from customer_profiles.edge import config
    from customer_profiles.edge.events import default_publisher
    from customer_profiles.edge.secrets import claim_token_key
    from customer_profiles.ports.effects import ClaimLinks

    config.settings.cache_clear()
    default_publisher.cache_clear()

    failures = args.failures_file or (state_dir / "linker-failures.jsonl" if state_dir else None)
    messages: list = []
    if queue_url:  # drained first: a failure that lands while we re-drive stays for the next run
        sqs = boto3.client("sqs", region_name=target.region)
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            messages += batch
    elif failures and failures.exists():
        messages = failures.read_text().splitlines()
    links = ClaimLinks(config.settings(config.EffectSettings).claim_url_base, claim_token_key)
    result = effects.redrive(store, default_publisher().publish, effects.RedrivePolicy(), links=links)
    for failure in result.failed:
        print(f"still failing: {failure}", file=sys.stderr)
    left = len(store.all_pending())
    if left:
        print(f"completed {result.done} pending effects; {left} still pending; failure messages kept")
        return 1
    print(f"completed {result.done} pending effects; {len(messages)} failure messages cleared")
    if queue_url:
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    elif failures and failures.exists():
        remaining = failures.read_text().splitlines()[len(messages) :]
        failures.write_text("".join(line + "\n" for line in remaining))
    return 0


def run_schedule(store: Store, target: Target, args: argparse.Namespace) -> int:
    """The claim schedule's work, as the linker's schedule does it every 5 minutes: reminders and expiries due
    at `--now` (default: now). The reminders' notifications are pending effects the stream then publishes
    (locally: the running `make run`'s poller)."""
    from customer_profiles.domain.claims import claim_schedule

    if args.now and not target.endpoint:
        raise Refused("--now moves the clock only for a local table")
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
    parser = argparse.ArgumentParser(
        prog="make operator ARGS=...", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_argument_group("where (default: the local runtime running on STATE_DIR)")
    where.add_argument("--stack", help="a deployed stack's name (e.g. customer-profiles-dev): its tables and more")
    where.add_argument(
        "--region", help="the stack's region (default: AWS_REGION, the profile's, else samconfig.toml's)"
    )
    where.add_argument("--endpoint", help="a DynamoDB endpoint of your own (e.g. another DynamoDB Local)")
    where.add_argument("--table", help="the profiles table (default: the stack's, or the local runtime's)")
    where.add_argument(
        "--requests-table",
        help="the idempotent answers' table, where an erasure deletes answers (default: the stack's, or the "
        "local runtime's)",
    )
    where.add_argument("--state-dir", type=Path, help="the local runtime's state folder (default: STATE_DIR, .local)")
    commands = parser.add_subparsers(dest="command", required=True)
    _org_commands(commands)
    drive = commands.add_parser(
        "redrive",
        aliases=["relink"],
        help="complete every pending effect (links, re-keys, events, claim notifications), then clear the "
        "linker's failure messages",
        description="Failure messages carry only a batch's sequence range, not its records, so the re-drive "
        "works from the table: every effect the stream drives stays pending until it is done, and this "
        "completes them all. Locally it publishes to STATE_DIR/events.jsonl and clears "
        "STATE_DIR/linker-failures.jsonl; with --stack, the event bus, claim-token key, claim URL and failure "
        "queue come from the stack (the flags below override them).",
    )
    drive.add_argument(
        "--state-dir", dest="redrive_state_dir", type=Path, help="a local runtime's state folder (events, failures)"
    )
    drive.add_argument("--event-bus", help="default with --stack: its EventBusName output")
    drive.add_argument("--claim-key-secret", help="default with --stack: its ClaimTokenKeyArn output")
    drive.add_argument("--claim-url-base", help="default with --stack: its ClaimUrlBase parameter")
    drained = drive.add_mutually_exclusive_group()
    drained.add_argument("--queue-url", help="default with --stack: its LinkerFailureQueueUrl output")
    drained.add_argument("--failures-file", type=Path, help="default locally: STATE_DIR/linker-failures.jsonl")
    _schedule_command(commands)
    return parser


def _org_commands(commands: Any) -> None:
    """The commands that set up an org: its app clients, settings, resellers and staff."""
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
    partner.add_argument("--usage-plan-id", help="default with --stack: its PartnerUsagePlanId output")
    secrets = partner.add_mutually_exclusive_group()
    secrets.add_argument("--secrets-file", type=Path, help="default locally: STATE_DIR/partner-secrets.json")
    secrets.add_argument(
        "--secrets-prefix",
        help="Secrets Manager name prefix (default with --stack: customer-profiles/<Stage>/partners/)",
    )
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


def _schedule_command(commands: Any) -> None:
    schedule = commands.add_parser(
        "run-schedule",
        help="the claim schedule now: reminders 48 hours before expiry (once per claim) and expired claims",
        description="What the linker's 5-minute schedule does for claims, on demand. Locally, --now runs it as "
        "if it were that instant (e.g. a day before a test claim expires).",
    )
    schedule.add_argument("--now", type=_instant, help="an ISO instant to run at (a local table only; default: now)")
    schedule.add_argument("--limit", type=int, default=1000, help="due items settled at most (default 1000)")


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    store = Store(target.table, target.dynamodb(), requests_table=target.requests_table)
    if args.command == "register-app-client":
        try:
            store.register_app_client(args.client_id, args.org_id, utc_now())
        except Conflict as error:
            raise Refused(str(error)) from None
        print(f"app client {args.client_id} now registers users into org {args.org_id}")
    elif args.command == "register-partner":
        return register_partner(store, target, args)
    elif args.command in ("add-staff", "remove-staff"):
        return staff(store, args)
    elif args.command in ("redrive", "relink"):
        return redrive(store, target, args)
    elif args.command == "run-schedule":
        return run_schedule(store, target, args)
    else:
        region = args.default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise Refused(f"{region} is not a region phonenumbers knows")
        store.configure_org(args.org_id, default_region=region, now=utc_now())
        print(f"org {args.org_id}: phone numbers without a country code are read as {region}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except Refused as refusal:
        print(f"refused: {refusal}", file=sys.stderr)
        return 1
    except NoCredentialsError:
        print("refused: no AWS credentials found (aws configure, or AWS_PROFILE)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
