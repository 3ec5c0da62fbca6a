"""``python -m local_runtime``: serve template.yaml locally without Docker.

DynamoDB Local (tables from the template), every function in warm worker processes, the API through SAM CLI's
local API Gateway (the template's routes and Lambda authorizer), the table streams fed to their functions, and a
local identity provider whose tokens the authorizer accepts.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="API port (default 3000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the API's interface (default 127.0.0.1; another exposes it to the network)"
    )
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
    parser.add_argument(
        "--lambda-host",
        default="127.0.0.1",
        help="the Lambda Invoke API's interface (default 127.0.0.1, whatever --host says: it runs any function "
        "with any event, so another interface lets other machines do so)",
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


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _log(line: str) -> None:
    sys.stderr.write(f"[local_runtime] {line}\n")
    sys.stderr.flush()


def _make_pollers(
    template: Any,
    streams: dict[str, str | None],
    endpoint: str,
    runner: Any,
    state_dir: Path,
    *,
    chaos_seed: int | None,
    log: Any = None,
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
                (log or _log)(f"{fn.logical_id}.{spec.event_name}: table has no stream, not polling")
                continue

            def invoke(event: dict[str, Any], _id: str = fn.logical_id) -> Any:
                return runner.invoke_event(_id, event)

            source = DynamoDBStreamSource(client(endpoint, "dynamodbstreams"), stream_arn)
            chaos = Chaos(chaos_seed) if chaos_seed is not None else None
            pollers.append(
                StreamPoller(
                    source, invoke, spec, failures, function_arn=fn.arn, retry_delay=0.5, log=log or _log, chaos=chaos
                )
            )
    return pollers


def _state_dir_argument(state_dir: Path) -> str:
    """The state folder as `make` takes it: relative to the repository when inside it."""
    try:
        return str(state_dir.relative_to(ROOT))
    except ValueError:
        return str(state_dir)


def with_state_dir(target: str, state_dir: Path) -> str:
    """`make token`, `make operator`: their state folder named unless it is the default one."""
    folder = _state_dir_argument(state_dir)
    return f"make {target}" if folder == ".local" else f"make {target} STATE_DIR={folder}"


def another_instance(args: argparse.Namespace, state_dir: Path) -> str:
    """A second instance's whole command line beside this one: every port and the state folder its own."""
    folder = _state_dir_argument(state_dir)
    flags = [("--port", args.port), ("--lambda-port", args.lambda_port)]
    if not args.dynamodb_endpoint:
        flags.append(("--dynamodb-port", args.dynamodb_port))
    ports = " ".join(f"{flag} {port + 100 if port else 0}" for flag, port in flags)
    return f'make run STATE_DIR={folder}-2 ARGS="{ports}"'


def _banner(runtime: LocalRuntime, storage: str) -> list[str]:
    """The start-up lines: where everything is, how to get a token and run operator commands (for this state
    folder), how to start another instance beside it, then the ready line."""
    args, state_dir = runtime.args, runtime.state_dir
    base = runtime.api_url
    lines = [
        f"API on {base} (Swagger UI: {base}/swagger); DynamoDB at {runtime.endpoint} ({storage}); state in {state_dir}",
        f"Lambda endpoint at {runtime.lambda_url}",
        f'tokens: {with_state_dir("token", state_dir)} ARGS="--sub alice --email alice@example.com --email-verified"',
        f'operator commands: {with_state_dir("operator", state_dir)} ARGS="add-staff --org-id org-demo --subject '
        f'till-1 --role admin"',
        f"another instance beside this one: {another_instance(args, state_dir)}",
    ]
    if args.debug_port:
        lines.append(
            f"{runtime.debug_function} runs under debugpy: its first invocation waits for a debugger on "
            f"127.0.0.1:{args.debug_port}"
        )
    lines.append(f"local runtime ready on {base}")
    return lines


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a comparison, not a bind
    return f"http://{shown}:{port}"


class LocalRuntime:
    """Everything the local runtime starts, and its clean-up (idempotent)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from local_runtime.state import StateLock

        self.args = args
        self.state_dir = Path(args.state_dir).resolve()
        self.lock = StateLock(self.state_dir)
        self.ddb: Any = None
        self.runner: Any = None
        self.poller_thread: Any = None
        self.lambda_api: Any = None
        self.api_socket: socket.socket | None = None
        self.dynamodb_port = 0
        self.endpoint = ""
        self.debug_function = ""
        self.stopping = threading.Event()

    @property
    def api_url(self) -> str:
        assert self.api_socket is not None
        return _url(self.args.host, self.api_socket.getsockname()[1])

    @property
    def lambda_url(self) -> str:
        return _url(self.args.lambda_host, self.lambda_api.port)

    def hold_state_dir(self) -> None:
        from local_runtime.dynamodb import SetupError
        from local_runtime.state import StateFolderBusy

        try:
            self.lock.acquire()
        except StateFolderBusy as busy:
            beside = another_instance(self.args, self.state_dir)
            raise SetupError(f"{busy}: stop it, or start this one beside it: {beside}") from None

    def bind_ports(self) -> None:
        """Every port this runtime serves on, taken (or, for DynamoDB Local, found free) before anything starts;
        every port in use is named at once."""
        from local_runtime.dynamodb import SetupError, free_port, port_in_use
        from local_runtime.gateway import listen
        from local_runtime.lambda_api import LambdaEndpoint

        args = self.args
        busy: list[str] = []
        try:
            self.api_socket = listen(args.host, args.port)
        except OSError:
            busy.append(f"{args.port} (the API, --port)")
        try:
            self.lambda_api = LambdaEndpoint(args.lambda_host, args.lambda_port)
        except OSError:
            busy.append(f"{args.lambda_port} (the Lambda endpoint, --lambda-port)")
        if not args.dynamodb_endpoint:
            self.dynamodb_port = args.dynamodb_port or free_port()
            if port_in_use(self.dynamodb_port):
                busy.append(f"{self.dynamodb_port} (DynamoDB Local, --dynamodb-port)")
        if busy:
            self.close()
            ports = "port " + busy[0] + " is" if len(busy) == 1 else "ports " + ", ".join(busy) + " are"
            raise SetupError(
                f"{ports} in use: stop what holds them (another `make run`?) or start this one on others "
                f"(0: a free one), e.g. {another_instance(args, self.state_dir)}"
            )

    def start_dynamodb(self) -> None:
        from local_runtime.dynamodb import DynamoDBLocal, wait_until_ready

        if self.args.dynamodb_endpoint:
            self.endpoint = self.args.dynamodb_endpoint.rstrip("/")
            wait_until_ready(self.endpoint, 10)
            return
        self.ddb = DynamoDBLocal(
            ROOT,
            port=self.dynamodb_port,
            log_path=self.state_dir / "dynamodb-local.log",
            data_dir=self.state_dir / "dynamodb" if self.args.persist else None,
        )
        self.ddb.start()
        self.endpoint = self.ddb.endpoint

    def warn_about_exposure(self) -> None:
        from local_runtime.lambda_api import is_loopback

        if not is_loopback(self.args.host):
            _log(f"warning: the API listens on {self.args.host}: other machines can reach it")
        if not is_loopback(self.args.lambda_host):
            _log(
                f"warning: the Lambda endpoint listens on {self.args.lambda_host}: other machines can run any "
                "function with any event (--lambda-host)"
            )

    def serve(self) -> None:
        from local_runtime.dynamodb import create_tables
        from local_runtime.environment import template_overrides
        from local_runtime.gateway import serve_forever
        from local_runtime.template import load_template

        self.hold_state_dir()
        self.bind_ports()
        self.warn_about_exposure()
        self.start_dynamodb()
        overrides = {**idp_parameters(self.args), "LogLevel": self.args.log_level}
        template = load_template(self.args.template, template_overrides(self.state_dir, overrides))
        streams = create_tables(self.endpoint, list(template.tables.values()))
        self.start_functions(template, streams)
        service = self.gateway(template)
        self.lock.write(
            {
                "api": self.api_url,
                "lambda_endpoint": self.lambda_url,
                "dynamodb_endpoint": self.endpoint,
                "table": template.tables["ProfilesTable"].name,
                "requests_table": template.tables["IdempotencyTable"].name,
                "state_dir": str(self.state_dir),
            }
        )
        for line in _banner(self, self.storage()):  # the API's socket already listens: requests wait in its backlog
            _say(line)
        assert self.api_socket is not None
        listening, self.api_socket = self.api_socket, None
        serve_forever(service, listening)  # blocks; installs a SIGTERM handler, so it runs in the main thread

    def start_functions(self, template: Any, streams: dict[str, str | None]) -> None:
        """The functions' workers, the Lambda endpoint that invokes them, and the pollers feeding them streams."""
        from local_runtime.environment import function_environment
        from local_runtime.poller import PollerThread
        from local_runtime.pool import LocalRunner

        env = function_environment(self.state_dir, self.endpoint, self.args.chaos, log_level=self.args.log_level)
        self.runner = LocalRunner(template.functions, env, log=sys.stderr)
        if self.args.debug_port:
            self.debug_function = self.runner.find(self.args.debug_function).logical_id
            self.runner.debug = (self.debug_function, self.args.debug_port)
        self.lambda_api.serve(self.runner)
        pollers = _make_pollers(
            template, streams, self.endpoint, self.runner, self.state_dir, chaos_seed=self.args.chaos, log=self.log
        )
        self.poller_thread = PollerThread(pollers, interval=0.2, log=self.log)
        self.poller_thread.start()

    def gateway(self, template: Any) -> Any:
        """SAM CLI's local API Gateway on the API's socket (the template's routes and authorizer), with the
        Swagger UI."""
        from samcli.lib.providers.api_provider import ApiProvider
        from samcli.lib.utils.stream_writer import StreamWriter

        from local_runtime import swagger
        from local_runtime.gateway import GatewayService, quiet_sam_logs, reauthorize_every

        assert self.api_socket is not None
        quiet_sam_logs(verbose=self.args.log_level in ("DEBUG", "INFO"))
        api = ApiProvider(template.stacks, cwd=str(template.root)).api
        service = GatewayService(
            template_path=self.args.template,
            api=api,
            lambda_runner=self.runner,
            port=self.api_socket.getsockname()[1],
            host=self.args.host,
            stderr=StreamWriter(sys.stderr, auto_flush=True),
            authorizer_cache_seconds=reauthorize_every(self.args.template) if self.args.chaos is not None else 0,
        )
        service.create()
        swagger.register(service._app)  # noqa: SLF001 - SAM's service keeps its Flask app private
        return service

    def storage(self) -> str:
        if self.args.dynamodb_endpoint:
            return "your DynamoDB"
        if self.args.persist:
            return "kept in STATE_DIR/dynamodb"
        return "in memory: gone when this stops, --persist keeps it"

    def log(self, line: str) -> None:
        """The poller's lines, until shutdown: a batch cut short by it is no error to report."""
        if not self.stopping.is_set():
            _log(line)

    def close(self) -> None:
        self.stopping.set()
        self.lock.release()  # runtime.json first: from here on, readers see no runtime
        if self.api_socket is not None:
            self.api_socket.close()
            self.api_socket = None
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
    # Closing the terminal (SIGHUP) stops everything as Ctrl+C does. Children end with this process however it
    # ends: DynamoDB Local by PR_SET_PDEATHSIG (local_runtime.dynamodb.die_with_parent), workers by watching
    # their parent (local_runtime.worker).
    signal.signal(signal.SIGHUP, _interrupt)
    # A shell without job control starts background commands with SIGINT ignored; Ctrl+C and `kill -INT` must
    # still stop this one.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        runtime.serve()
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
        runtime.close()


if __name__ == "__main__":
    sys.exit(main())
