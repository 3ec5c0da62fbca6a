"""Benchmarks, printed as ratios to floors measured in the same run (this machine is noisy; ratios travel).

1. Operations against DynamoDB Local, each as median wall time / the median of one GetItem round trip
   (the floor), next to the number of DynamoDB requests it makes (what costs money and latency in AWS).
2. A warm invocation through the local Lambda endpoint / the same handler called in-process.
3. Cold import of each handler without bytecode (as `sam build` ships it) / with compiled bytecode.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "common"), str(ROOT)]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from customer_profiles.data.store import Store  # noqa: E402
from customer_profiles.domain import effects, history, orders, pos, staff, users  # noqa: E402
from customer_profiles.edge.config import placeholders  # noqa: E402
from customer_profiles.models.api import OrderRequest, PosSaleRequest  # noqa: E402
from customer_profiles.models.principal import Principal  # noqa: E402
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


def requests_of(store: Store, action: Callable[[], object]) -> int:
    counter: Counter[str] = Counter()

    def count(model: object, **_: object) -> None:
        counter.update([getattr(model, "name", "?")])

    store.db.client.meta.events.register("before-call.dynamodb.*", count)
    try:
        action()
    finally:
        store.db.client.meta.events.unregister("before-call.dynamodb.*", count)
    return sum(counter.values())


def database_operations(store: Store, runs: int) -> list[tuple[str, float, int]]:
    def user() -> Principal:
        principal = Principal(kind="user", subject=f"bench-{uuid.uuid4().hex}", client_id="app")
        users.register_me(store, principal)
        return principal

    buyer = user()
    order = OrderRequest.model_validate({"currency": "EUR", "payment_method": "card", "lines": LINES})
    orders.place_consumer_order(store, buyer, "org-bench", order)
    seller = Principal(kind="staff", subject="till", client_id="staff", memberships={"org-bench": frozenset({"pos"})})

    def new_email_sale() -> object:
        request = PosSaleRequest.model_validate(
            {
                "currency": "EUR",
                "payment_method": "cash",
                "lines": LINES,
                "customer": {"email": f"{uuid.uuid4().hex}@example.com"},
            }
        )
        return pos.create_pos_sale(store, seller, "org-bench", request)

    def link_three_profiles() -> object:
        principal = user()
        email = f"{uuid.uuid4().hex}@example.com"
        sale = PosSaleRequest.model_validate(
            {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": {"email": email}}
        )
        for n in range(3):
            staff = Principal(
                kind="staff", subject="till", client_id="staff", memberships={f"org-{n}": frozenset({"pos"})}
            )
            pos.create_pos_sale(store, staff, f"org-{n}", sale)
        users.register_me(
            store, Principal(kind="user", subject=principal.subject, client_id="app", email=email, email_verified=True)
        )
        return effects.redrive(store, lambda events: None)

    def staff_view_of(orders_held: int) -> Callable[[], object]:
        """The staff profile view's first page, of a customer holding `orders_held` sales of 2 tickets each."""
        customer = {"email": f"{uuid.uuid4().hex}@example.com"}
        sale = PosSaleRequest.model_validate(
            {"currency": "EUR", "payment_method": "cash", "lines": LINES, "customer": customer}
        )
        profile_id = ""
        for _ in range(orders_held):
            profile_id = pos.create_pos_sale(store, seller, "org-bench", sale).profile.profile_id
        viewer = Principal(
            kind="staff", subject="till", client_id="staff", memberships={"org-bench": frozenset({"viewer"})}
        )
        return lambda: staff.read_profile(store, viewer, "org-bench", profile_id, limit=25, cursor=None)

    cases: list[tuple[str, Callable[[], object]]] = [
        ("floor: one GetItem", lambda: store.get_user("nobody")),
        ("staff profile view at 10 orders", staff_view_of(10)),
        ("staff profile view at 400 orders", staff_view_of(400)),
        ("repeat consumer purchase", lambda: orders.place_consumer_order(store, buyer, "org-bench", order)),
        ("history page (25)", lambda: history.history_of_me(store, buyer, org_id=None, limit=25, cursor=None)),
        ("point-of-sale sale, new email", new_email_sale),
        ("sign-up merging 3 profiles + link", link_three_profiles),
    ]
    return [(name, median_seconds(action, runs), requests_of(store, action)) for name, action in cases]


def invoke_overhead(endpoint: str, runs: int) -> tuple[float, float]:
    """A warm invocation through the local Lambda endpoint (boto3) and the same handler called in-process:
    the linker with an empty batch, so only the invocation itself is measured."""
    import boto3
    from botocore.config import Config

    from local_runtime.__main__ import function_environment, template_overrides
    from local_runtime.lambda_api import serve_lambda_api
    from local_runtime.pool import LocalRunner
    from local_runtime.template import load_template

    state = Path(tempfile.mkdtemp(prefix="bench-state-"))
    environment = function_environment(state, endpoint)
    runner = LocalRunner(load_template(ROOT / "template.yaml", template_overrides(state)).functions, environment)
    server = serve_lambda_api(runner, "127.0.0.1", 0)
    client = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
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
    os.environ.update({**environment, "TABLE_NAME": "bench-profiles"})
    sys.path.insert(0, str(ROOT / "functions" / "linker"))
    import linker
    from local_runtime.worker import LambdaContext

    context = LambdaContext("LinkerFunction", 512, "bench", int(time.time() * 1000) + 60_000)
    linker.handler({"Records": []}, context)
    in_process = median_seconds(lambda: linker.handler({"Records": []}, context), runs)
    return through_endpoint, in_process


def import_seconds(handler: str, cache_dir: str | None, runs: int) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / handler), str(ROOT / "layers" / "common")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
        **placeholders("bench"),  # each function refuses to start without its settings
    }
    samples = []
    for _ in range(runs):
        if cache_dir is None:  # no bytecode anywhere: everything compiles from source, every time
            env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-nopyc-")
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["PYTHONPYCACHEPREFIX"] = cache_dir
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {handler}"], env=env, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    tables = {"ProfilesTable": "bench-profiles", "IdempotencyTable": "bench-idempotency"}
    with dynamodb_local_store(ROOT, tables) as store:
        results = database_operations(store, args.runs)
        through_endpoint, in_process = invoke_overhead(store.db.client.meta.endpoint_url, args.runs)
    floor = results[0][1]
    print(f"DynamoDB Local, median of {args.runs} runs; floor = one GetItem round trip ({floor * 1000:.2f} ms here)")
    print(f"{'operation':40} {'x floor':>8} {'requests':>9}")
    for name, seconds, count in results:
        print(f"{name:40} {seconds / floor:8.1f} {count:9d}")

    print(
        f"\nwarm invocation through the local Lambda endpoint (boto3) / the handler called in-process: "
        f"{through_endpoint / in_process:.1f}x  ({through_endpoint * 1000:.1f} ms / {in_process * 1000:.2f} ms)"
    )

    print("\ncold import of each handler: no bytecode (as sam build ships it) / compiled bytecode")
    warm = tempfile.mkdtemp(prefix="bench-pyc-")
    for handler in HANDLERS:
        import_seconds(handler, warm, 1)  # compile once into the warm cache
        cold, compiled = import_seconds(handler, None, 5), import_seconds(handler, warm, 5)
        print(f"{handler:40} {cold / compiled:8.2f}x  ({compiled * 1000:.0f} ms with bytecode)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
