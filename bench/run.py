"""Benchmarks, printed as ratios to floors measured in the same run (this machine is noisy; ratios travel).

1. Operations against DynamoDB Local, each as median wall time / the median of one GetItem round trip
   (the floor), next to the number of DynamoDB requests it makes (what costs money and latency in AWS).
2. A warm invocation through the local Lambda endpoint / the same handler called in-process.
3. Cold start: the CPU of importing each handler / importing boto3 and making a DynamoDB client, and the app
   API's first request after its SnapStart hooks / a warm request.
4. The on-sale on paper (bench/onsale.py): the hottest partition key of the table and of each GSI.

  make bench            # or: .venv/bin/python -m bench.run [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from bench import onsale  # noqa: E402
from customer_profiles.data.store import Store  # noqa: E402
from customer_profiles.domain.effects import effects  # noqa: E402
from customer_profiles.domain.idempotency import under_key  # noqa: E402
from customer_profiles.domain.identity import history, users  # noqa: E402
from customer_profiles.domain.sales import orders, pos  # noqa: E402
from customer_profiles.domain.staff import memberships, org_console  # noqa: E402
from customer_profiles.edge.config import placeholders  # noqa: E402
from customer_profiles.models.api import OrderRequest, PosSaleRequest  # noqa: E402
from customer_profiles.models.principal import Principal  # noqa: E402
from customer_profiles.ports.sales import IdempotentRequest  # noqa: E402
from tests.support.requests import requests_of  # noqa: E402
from tests.support.template_tables import dynamodb_local_store  # noqa: E402

LINES = [{"kind": "ticket", "item_id": "ev-bench", "quantity": 2, "unit_price": 1000}]
HANDLERS = ["authorizer", "app_api", "org_api", "partner_webhooks", "linker"]


def median_seconds(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _user(store: Store) -> Principal:
    principal = Principal(kind="user", subject=f"bench-{uuid.uuid4().hex}", client_id="app")
    registered, _ = users.register_me(store, principal)
    return replace(principal, user_id=registered.user_id)  # as the authorizer hands it over


def _key(operation: str) -> IdempotentRequest:
    return under_key(operation, caller="bench", key=uuid.uuid4().hex, payload={})


def _sale(email: str) -> PosSaleRequest:
    customer = {"email": email}
    return PosSaleRequest.model_validate(
        {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": customer}
    )


def _staff(org_id: str, role: str) -> Principal:
    return Principal(kind="staff", subject="till", client_id="staff", memberships={org_id: frozenset({role})})


def _link_three_profiles(store: Store) -> object:
    """A sign-up whose verified email holds a dormant profile in each of 3 orgs, and the links it drives."""
    principal = _user(store)
    email = f"{uuid.uuid4().hex}@example.com"
    for n in range(3):
        pos.create_pos_sale(store, _staff(f"org-{n}", "pos"), f"org-{n}", _sale(email))
    users.register_me(
        store, Principal(kind="user", subject=principal.subject, client_id="app", email=email, email_verified=True)
    )
    return effects.redrive(store, lambda events: None)


def _staff_view_of(store: Store, orders_held: int) -> Callable[[], object]:
    """The staff profile view's first page, of a customer holding `orders_held` sales of 2 tickets each."""
    request = _sale(f"{uuid.uuid4().hex}@example.com")
    profile_id = ""
    for _ in range(orders_held):
        profile_id = pos.create_pos_sale(store, _staff("org-bench", "pos"), "org-bench", request).profile.profile_id
    viewer = _staff("org-bench", "viewer")
    return lambda: org_console.read_profile(store, viewer, "org-bench", profile_id, limit=25, cursor=None)


def database_operations(store: Store, runs: int) -> list[tuple[str, float, int, int | None]]:
    """(operation, median seconds, DynamoDB requests, the most it may make or None)."""
    # staff writes check the member's current membership in the table (token claims grant nothing)
    memberships.grant(store, "org-bench", "till", ["pos", "viewer"])
    for n in range(3):
        memberships.grant(store, f"org-{n}", "till", ["pos"])
    buyer = _user(store)
    order = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
    orders.place_consumer_order(store, buyer, "org-bench", order)
    replayed = _key("place_consumer_order")
    orders.place_consumer_order(store, buyer, "org-bench", order, replayed)
    seller = _staff("org-bench", "pos")
    known = _sale("known@example.com")
    pos.create_pos_sale(store, seller, "org-bench", known)

    def new_email_sale() -> object:
        return pos.create_pos_sale(store, seller, "org-bench", _sale(f"{uuid.uuid4().hex}@example.com"))

    cases: list[tuple[str, Callable[[], object], int | None]] = [
        ("floor: one GetItem", lambda: store.get_user("nobody"), 1),
        ("staff profile view at 10 orders", _staff_view_of(store, 10), None),
        ("staff profile view at 400 orders", _staff_view_of(store, 400), None),
        (
            "repeat consumer purchase",
            lambda: orders.place_consumer_order(store, buyer, "org-bench", order, _key("place_consumer_order")),
            2,
        ),
        (
            "its retry (same Idempotency-Key)",
            lambda: orders.place_consumer_order(store, buyer, "org-bench", order, replayed),
            1,
        ),
        (
            "first consumer purchase at an org",
            lambda: orders.place_consumer_order(store, buyer, f"org-{uuid.uuid4().hex[:8]}", order),
            3,
        ),
        ("point-of-sale sale, known customer", lambda: pos.create_pos_sale(store, seller, "org-bench", known), 3),
        ("point-of-sale sale, new email", new_email_sale, None),
        ("GET /v1/me", lambda: users.get_me(store, buyer), 1),
        ("history page (25)", lambda: history.history_of_me(store, buyer, org_id=None, limit=25, cursor=None), 1),
        ("sign-up merging 3 profiles + link", lambda: _link_three_profiles(store), None),
    ]
    return [
        (name, median_seconds(action, runs), requests_of(store, action).total(), most) for name, action, most in cases
    ]


def activation_cost() -> Counter[str]:
    """The requests of a sign-up whose dormant holders carry 1,000 window tickets across 5 orgs, with every
    effect it leaves (tests/integration/test_linking_cost.py asserts the bound), on a table of its own."""
    from tests.integration import test_linking_cost as cost

    with dynamodb_local_store(
        ROOT, {"ProfilesTable": "bench-cost", "IdempotencyTable": "bench-cost-requests"}
    ) as store:
        return cost.activation_of_1000_tickets(store)


def invoke_overhead(endpoint: str, runs: int) -> tuple[float, float]:
    """A warm invocation through the local Lambda endpoint (boto3) and the same handler called in-process:
    the linker with an empty batch, so only the invocation itself is measured."""
    import boto3
    from botocore.config import Config

    from local_runtime.environment import function_environment, template_overrides
    from local_runtime.lambda_api import LambdaEndpoint
    from local_runtime.pool import LocalRunner
    from local_runtime.template import load_template

    state = Path(tempfile.mkdtemp(prefix="bench-state-"))
    environment = function_environment(state, endpoint)
    runner = LocalRunner(load_template(ROOT / "template.yaml", template_overrides(state)).functions, environment)
    server = LambdaEndpoint("127.0.0.1", 0)
    server.serve(runner)
    client = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{server.port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )
    try:
        client.invoke(FunctionName="LinkerFunction", Payload=b'{"Records": []}')  # warm the worker
        through_endpoint = median_seconds(
            lambda: client.invoke(FunctionName="LinkerFunction", Payload=b'{"Records": []}'), runs
        )
    finally:
        server.shutdown()
        runner.close()
    os.environ.update({**environment, "TABLE_NAME": "bench-profiles", "IDEMPOTENCY_TABLE_NAME": "bench-idempotency"})
    sys.path.insert(0, str(ROOT / "functions" / "linker"))
    import linker
    from local_runtime.worker import LambdaContext

    context = LambdaContext("LinkerFunction", 512, "bench", int(time.time() * 1000) + 60_000)
    linker.handler({"Records": []}, context)
    in_process = median_seconds(lambda: linker.handler({"Records": []}, context), runs)
    return through_endpoint, in_process


# Import CPU targets as a multiple of the floor: importing boto3 and making a DynamoDB client.
IMPORT_TARGETS = {"authorizer": 0.5, "app_api": 1.3, "org_api": 1.3, "partner_webhooks": 1.3, "linker": None}
# The app API's first request after its SnapStart hooks, against a warm one, in CPU (DynamoDB Local's own
# time is not the function's).
FIRST_REQUEST = """
import json, statistics, time
import app_api
from local_runtime.worker import LambdaContext, run_snapstart_hooks
run_snapstart_hooks()  # as Lambda runs them: at the snapshot, then in a restored environment
event = json.load(open("events/app-api-get-me.json"))
def request():
    start = time.process_time()
    app_api.handler(event, LambdaContext("bench", 512, "r", int(time.time() * 1000) + 30000))
    return time.process_time() - start
first = request()
print(first / statistics.median(request() for _ in range(30)))
"""


def child(code: str, handler: str | None, cache_dir: str, **env_vars: str) -> float:
    """What `code` prints (its last word as a number) in a fresh interpreter with the handler's folder and the
    layer's package on its path as Lambda has them, from bytecode (the layer ships compiled; its third-party
    wheels are arm64, so they come from the virtualenv)."""
    path = [str(ROOT / "functions" / handler)] if handler else []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*path, str(ROOT / "layers" / "common"), str(ROOT)]),
        "PYTHONPYCACHEPREFIX": cache_dir,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **placeholders("bench"),  # each function refuses to start without its settings
        **env_vars,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.split()[-1])


def import_cpu(handler: str | None, cache_dir: str, runs: int) -> float:
    """Median CPU seconds of importing the handler (None: the floor, boto3 and a DynamoDB client)."""
    work = f"import {handler}" if handler else "import boto3\nboto3.client('dynamodb')"
    code = f"import time\nstart = time.process_time()\n{work}\nprint(time.process_time() - start)"
    child(code, handler, cache_dir)  # compiles into the cache once
    return statistics.median(child(code, handler, cache_dir) for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    tables = {"ProfilesTable": "bench-profiles", "IdempotencyTable": "bench-idempotency"}
    with dynamodb_local_store(ROOT, tables) as store:
        results = database_operations(store, args.runs)
        through_endpoint, in_process = invoke_overhead(store.db.client.meta.endpoint_url, args.runs)
        local = {
            "AWS_ENDPOINT_URL_DYNAMODB": store.db.client.meta.endpoint_url,
            "TABLE_NAME": tables["ProfilesTable"],
            "IDEMPOTENCY_TABLE_NAME": tables["IdempotencyTable"],
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        pyc = tempfile.mkdtemp(prefix="bench-pyc-")
        child(FIRST_REQUEST, "app_api", pyc, **local)  # compiles into the cache once (the layer ships bytecode)
        first_over_warm = statistics.median(child(FIRST_REQUEST, "app_api", pyc, **local) for _ in range(11))
        activation = activation_cost()
    floor = results[0][1]
    print(f"DynamoDB Local, median of {args.runs} runs; floor = one GetItem round trip ({floor * 1000:.2f} ms here)")
    print(f"{'operation':40} {'x floor':>8} {'requests':>9} {'at most':>8}")
    for name, seconds, count, most in results:
        print(f"{name:40} {seconds / floor:8.1f} {count:9d} {'' if most is None else most:>8}")

    print(
        f"activation bringing 1,000 window tickets across 5 orgs: {sum(activation.values())} requests "
        f"(at most 1,000/40 + 50 = 75; {dict(sorted(activation.items()))})"
    )

    print(
        f"\nwarm invocation through the local Lambda endpoint (boto3) / the handler called in-process: "
        f"{through_endpoint / in_process:.1f}x  ({through_endpoint * 1000:.1f} ms / {in_process * 1000:.2f} ms)"
    )

    cache = tempfile.mkdtemp(prefix="bench-pyc-")
    import_floor = import_cpu(None, cache, 7)
    print(f"\nimport CPU of each handler / the floor: boto3 and a DynamoDB client ({import_floor * 1000:.0f} ms here)")
    print(f"{'handler':40} {'x floor':>8} {'at most':>8}")
    for handler in HANDLERS:
        target = IMPORT_TARGETS[handler]
        ratio = import_cpu(handler, cache, 7) / import_floor
        print(f"{handler:40} {ratio:8.2f} {'' if target is None else target:>8}")
    print(f"app API: the first request after a SnapStart restore / a warm one: {first_over_warm:.2f}x (at most 1.5)")

    print()
    print(onsale.report_text())  # on paper: bench/onsale.py (hot keys, the identification report's costs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
