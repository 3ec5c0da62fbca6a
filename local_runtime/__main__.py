"""``python -m local_runtime``: serve template.yaml locally without Docker.

DynamoDB Local (tables from the template), every function in warm worker processes, the API through SAM CLI's
local API Gateway (the template's routes and Lambda authorizer), the table streams fed to their functions, and a
local identity provider whose tokens the authorizer accepts.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="API port (default 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="API host (default 127.0.0.1)")
    parser.add_argument("--state-dir", default=str(ROOT / ".local"), help="local state (default .local)")
    parser.add_argument("--dynamodb-port", type=int, default=8000, help="DynamoDB Local port (0: a free port)")
    parser.add_argument(
        "--dynamodb-endpoint", help="use this DynamoDB (another DynamoDB Local, or AWS's) instead of starting one"
    )
    parser.add_argument(
        "--persist",
        action="store_true",
        help="keep DynamoDB Local's data in STATE_DIR/dynamodb across restarts (default: in memory, gone on exit)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the functions' log level (default WARNING: quiet; INFO shows every request's lines)",
    )
    parser.add_argument(
        "--chaos",
        type=int,
        metavar="SEED",
        help="inject AWS's races reproducibly: transaction conflicts, lagging indexes, parallel out-of-order "
        "stream shards, redelivered batches (local_runtime/chaos.py)",
    )
    parser.add_argument(
        "--lambda-port",
        type=int,
        default=3001,
        help="the Lambda Invoke API, as `sam local start-lambda` serves it (default 3001; 0: a free port)",
    )
    idp = parser.add_argument_group(
        "identity provider", "any OpenID Connect issuer (Cognito, Auth0, Keycloak...); default: the local one"
    )
    idp.add_argument("--idp-issuer", help="the tokens' iss, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID")
    idp.add_argument("--idp-jwks-url", help="its JWKS (default: ISSUER/.well-known/jwks.json)")
    idp.add_argument("--idp-audiences", help="accepted app client ids, comma-separated (needed with --idp-issuer)")
    idp.add_argument("--staff-client-ids", help="the staff console's app client ids, comma-separated")
    parser.add_argument("--debug-port", type=int, help="start --debug-function's worker under debugpy on this port")
    parser.add_argument("--debug-function", default="AppApiFunction", help="the function to debug (logical id)")
    parser.add_argument("--template", default=str(ROOT / "template.yaml"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.idp_issuer and not args.idp_audiences:
        parser.error("--idp-issuer needs --idp-audiences (the app client ids its tokens are issued for)")
    if (args.idp_jwks_url or args.idp_audiences) and not args.idp_issuer:
        parser.error("--idp-jwks-url and --idp-audiences go with --idp-issuer")
    return args


def idp_parameters(args: argparse.Namespace) -> dict[str, str]:
    """The template's identity provider parameters for an outside issuer (none: the local one)."""
    if not args.idp_issuer:
        return {"StaffClientIds": args.staff_client_ids} if args.staff_client_ids else {}
    issuer = args.idp_issuer.rstrip("/")
    return {
        "IdpIssuer": issuer,
        "IdpJwksUrl": args.idp_jwks_url or f"{issuer}/.well-known/jwks.json",
        "IdpAudiences": args.idp_audiences,
        "StaffClientIds": args.staff_client_ids or "",
    }


def ensure_claim_token_key(state_dir: Path) -> Path:
    path = state_dir / "claim-token.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path


def ensure_receipt_code_keys(state_dir: Path) -> Path:
    """The receipt codes' HMAC keys (white-space separated, current first), as the stack's secret holds them."""
    path = state_dir / "receipt-code.keys"
    if not path.exists():
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path


def function_environment(state_dir: Path, endpoint: str, chaos: int | None = None) -> dict[str, str]:
    """What every function's worker gets besides the template's variables: the local endpoints and stand-ins."""
    from local_runtime.template import REGION

    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOCAL_EVENT_SINK": str(state_dir / "events.jsonl"),
        # Secrets Manager's stand-ins: partners' webhook secrets (`make operator ARGS="register-partner
        # ..."` writes them), the claim-token key and the receipt-code keys (made on first run).
        "LOCAL_PARTNER_SECRETS_FILE": str(state_dir / "partner-secrets.json"),
        "LOCAL_CLAIM_TOKEN_KEY_FILE": str(ensure_claim_token_key(state_dir)),
        "LOCAL_RECEIPT_CODE_KEYS_FILE": str(ensure_receipt_code_keys(state_dir)),
        **({"LOCAL_CHAOS_SEED": str(chaos)} if chaos is not None else {}),
    }


def template_overrides(state_dir: Path, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The template's parameters for local use: the local identity provider (made on first run), unless
    `overrides` names another (or sets other parameters, such as LogLevel)."""
    from local_runtime.idp import init_idp, jwks_path
    from local_runtime.template import LOCAL_PARAMETERS

    init_idp(state_dir)
    return {**LOCAL_PARAMETERS, "IdpJwksUrl": jwks_path(state_dir).as_uri(), **(overrides or {})}


def runtime_file(state_dir: Path) -> Path:
    """Where a running local runtime says where its DynamoDB is (read by `make token` and the operator)."""
    return state_dir / "runtime.json"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _log(line: str) -> None:
    sys.stderr.write(f"[local_runtime] {line}\n")
    sys.stderr.flush()


def _announce_when_listening(host: str, port: int, lines: list[str], stop: threading.Event) -> None:
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a comparison, not a bind
    while not stop.is_set():
        try:
            with socket.create_connection((connect_host, port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    else:
        return
    for line in lines:
        _say(line)


def _make_pollers(
    template: Any,
    streams: dict[str, str | None],
    endpoint: str,
    runner: Any,
    state_dir: Path,
    *,
    chaos_seed: int | None,
) -> list:
    """A StreamPoller per DynamoDB event of every function, on the table's latest stream."""
    from local_runtime.chaos import Chaos
    from local_runtime.dynamodb import client
    from local_runtime.poller import DynamoDBStreamSource, StreamPoller, jsonl_sink

    pollers = []
    failures = jsonl_sink(str(state_dir / "linker-failures.jsonl"))
    for fn in template.functions.values():
        for spec in fn.streams:
            stream_arn = streams.get(spec.table_logical_id)
            if not stream_arn:
                _log(f"{fn.logical_id}.{spec.event_name}: table has no stream, not polling")
                continue

            def invoke(event: dict[str, Any], _id: str = fn.logical_id) -> Any:
                return runner.invoke_event(_id, event)

            source = DynamoDBStreamSource(client(endpoint, "dynamodbstreams"), stream_arn)
            chaos = Chaos(chaos_seed) if chaos_seed is not None else None
            pollers.append(
                StreamPoller(
                    source, invoke, spec, failures, function_arn=fn.arn, retry_delay=0.5, log=_log, chaos=chaos
                )
            )
    return pollers


def _banner(host: str, port: int, endpoint: str, storage: str, state_dir: Path, api: Any, template: Any) -> list[str]:  # noqa: PLR0917
    """The start-up lines: where the API is, how to get a token, the routes, then the ready line."""
    base = f"http://{host}:{port}"
    lines = [
        f"API on {base} (DynamoDB at {endpoint}, {storage}; state in {state_dir}); get a token with "
        f'make token ARGS="--sub alice --email alice@example.com --email-verified"  or  '
        f"{sys.executable} -m local_runtime.token --state-dir {state_dir} --sub alice "
        f"--email alice@example.com --email-verified",
    ]
    for route in sorted(api.routes, key=lambda r: (r.path, r.function_name)):
        auth = route.authorizer_name or "none"
        methods = ",".join(sorted(m for m in route.methods if m not in ("HEAD", "OPTIONS")))
        lines.append(f"  {base}{route.path} [{methods}] -> {route.function_name} (authorizer: {auth})")
    for fn in template.functions.values():
        for spec in fn.streams:
            lines.append(f"  stream {template.tables[spec.table_logical_id].name} -> {fn.logical_id}")
    lines.append(f"  {base}/swagger: the API document, browsable (Swagger UI)")
    lines.append(f"local runtime ready on {base}")
    return lines


class LocalRuntime:
    """Everything the local runtime starts, and its clean-up (idempotent)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state_dir = Path(args.state_dir).resolve()
        self.ddb: Any = None
        self.runner: Any = None
        self.poller_thread: Any = None
        self.lambda_api: Any = None
        self.endpoint = ""
        self.wrote_runtime_file = False

    def check_ports(self) -> None:
        """Every port this runtime will serve on is free, before anything starts."""
        from local_runtime.dynamodb import require_free_port

        require_free_port(self.args.port, self.args.host, "the API", "--port")
        if self.args.lambda_port:
            require_free_port(self.args.lambda_port, self.args.host, "the Lambda endpoint", "--lambda-port")

    def start_dynamodb(self) -> None:
        from local_runtime.dynamodb import DynamoDBLocal, wait_until_ready

        if self.args.dynamodb_endpoint:
            self.endpoint = self.args.dynamodb_endpoint.rstrip("/")
            wait_until_ready(self.endpoint, 10)
            return
        self.ddb = DynamoDBLocal(
            ROOT,
            port=self.args.dynamodb_port,
            log_path=self.state_dir / "dynamodb-local.log",
            data_dir=self.state_dir / "dynamodb" if self.args.persist else None,
        )
        self.ddb.start()
        self.endpoint = self.ddb.endpoint

    def serve(self, announce_stop: threading.Event) -> None:
        from samcli.lib.providers.api_provider import ApiProvider
        from samcli.lib.utils.stream_writer import StreamWriter

        from local_runtime import swagger
        from local_runtime.dynamodb import create_tables
        from local_runtime.gateway import GatewayService, reauthorize_every
        from local_runtime.lambda_api import serve_lambda_api
        from local_runtime.poller import PollerThread
        from local_runtime.pool import LocalRunner
        from local_runtime.template import load_template

        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.check_ports()
        self.start_dynamodb()
        overrides = {**idp_parameters(self.args), "LogLevel": self.args.log_level}
        template = load_template(self.args.template, template_overrides(self.state_dir, overrides))
        streams = create_tables(self.endpoint, list(template.tables.values()))
        runtime_file(self.state_dir).write_text(
            json.dumps({"dynamodb_endpoint": self.endpoint, "table": template.tables["ProfilesTable"].name})
        )
        self.wrote_runtime_file = True

        env = function_environment(self.state_dir, self.endpoint, self.args.chaos)
        self.runner = LocalRunner(template.functions, env, log=sys.stderr)
        if self.args.debug_port:
            self.runner.debug = (self.runner.find(self.args.debug_function).logical_id, self.args.debug_port)
        if self.args.lambda_port is not None:
            self.lambda_api = serve_lambda_api(self.runner, self.args.host, self.args.lambda_port)
        pollers = _make_pollers(
            template, streams, self.endpoint, self.runner, self.state_dir, chaos_seed=self.args.chaos
        )
        self.poller_thread = PollerThread(pollers, interval=0.2, log=_log)
        self.poller_thread.start()

        api = ApiProvider(template.stacks, cwd=str(template.root)).api
        service = GatewayService(
            template_path=self.args.template,
            api=api,
            lambda_runner=self.runner,
            port=self.args.port,
            host=self.args.host,
            stderr=StreamWriter(sys.stderr, auto_flush=True),
            authorizer_cache_seconds=reauthorize_every(self.args.template) if self.args.chaos is not None else 0,
        )
        service.create()
        swagger.register(service._app)  # noqa: SLF001 - SAM's service keeps its Flask app private
        storage = (
            "your DynamoDB"
            if self.args.dynamodb_endpoint
            else "kept in STATE_DIR/dynamodb"
            if self.args.persist
            else "in memory: gone when this stops, --persist keeps it"
        )
        lines = _banner(self.args.host, self.args.port, self.endpoint, storage, self.state_dir, api, template)
        if self.lambda_api is not None:
            lines.insert(1, f"Lambda endpoint at http://{self.args.host}:{self.lambda_api.server_address[1]}")
        threading.Thread(
            target=_announce_when_listening, args=(self.args.host, self.args.port, lines, announce_stop), daemon=True
        ).start()
        service.run()  # blocks; installs SAM's SIGTERM handler, so it runs in the main thread

    def close(self) -> None:
        if self.wrote_runtime_file:  # never another runtime's (a second `make run` on the same state dir)
            runtime_file(self.state_dir).unlink(missing_ok=True)
            self.wrote_runtime_file = False
        if self.lambda_api is not None:
            self.lambda_api.shutdown()
            self.lambda_api = None
        if self.poller_thread is not None:
            self.poller_thread.stop()
            self.poller_thread = None
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        if self.ddb is not None:
            self.ddb.stop()
            self.ddb = None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["invoke"]:
        from local_runtime.invoke import main as invoke

        return invoke(argv[1:])
    args = _parse(argv)
    os.environ.setdefault("SAM_CLI_TELEMETRY", "0")
    from local_runtime.dynamodb import SetupError

    runtime = LocalRuntime(args)
    atexit.register(runtime.close)
    # Closing the terminal (SIGHUP) stops everything as Ctrl+C does; children started before also die with
    # this process however it ends (local_runtime.dynamodb.die_with_parent; workers end on their closed pipe).
    signal.signal(signal.SIGHUP, _interrupt)
    # A shell without job control starts background commands with SIGINT ignored; Ctrl+C and `kill -INT` must
    # still stop this one.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    announce_stop = threading.Event()
    try:
        runtime.serve(announce_stop)
        return 0
    except SetupError as exc:
        _log(str(exc))
        return 2
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # SAM raises ProcessSigTermException on SIGTERM
        if type(exc).__name__ == "ProcessSigTermException":
            return 0
        _log(f"stopped: {exc!r}")
        return 1
    finally:
        announce_stop.set()
        runtime.close()


if __name__ == "__main__":
    sys.exit(main())
