"""``python -m local_runtime invoke FUNCTION -e EVENT``: `sam local invoke` without Docker.

Runs one function of the template with its environment against a local DynamoDB (the running `make run`'s,
`--dynamodb-endpoint`, or one started for this invocation, in memory), prints the function's answer as JSON
on stdout and its logs on stderr, and exits 1 on an unhandled error, whose answer is Lambda's error shape
(`errorMessage`, `errorType`, `stackTrace`). Flags mean what they mean to `sam local invoke`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_runtime invoke", description=__doc__)
    parser.add_argument("function", help="the function's logical id (e.g. LinkerFunction) or name")
    parser.add_argument("-e", "--event", default=None, help="the event's JSON file, or - for stdin (default: {})")
    parser.add_argument(
        "-n", "--env-vars", type=Path, help="SAM's JSON: {FunctionLogicalId: {VAR: value}, Parameters: {...}}"
    )
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", help="template parameters")
    parser.add_argument("-t", "--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--dynamodb-endpoint", help="a running DynamoDB (default: make run's, else one of its own)")
    parser.add_argument("--state-dir", default=str(ROOT / ".local"), help="local state (default .local)")
    parser.add_argument("-d", "--debug-port", type=int, help="start the function under debugpy, waiting on this port")
    return parser.parse_args(argv)


def read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return json.loads(text or "{}")


def env_overrides(path: Path | None, logical_id: str) -> dict[str, str]:
    """SAM's --env-vars file: `Parameters` apply to every function, a function's own entries win."""
    if path is None:
        return {}
    data = json.loads(path.read_text())
    return {k: str(v) for k, v in {**data.get("Parameters", {}), **data.get(logical_id, {})}.items()}


def running_dynamodb(state_dir: Path) -> str | None:
    """The DynamoDB of the `make run` running on `state_dir`, if one runs there."""
    from local_runtime.state import NotRunning, running_runtime

    try:
        return str(running_runtime(state_dir)["dynamodb_endpoint"])
    except NotRunning:
        return None


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from local_runtime.dynamodb import DynamoDBLocal, SetupError, create_tables
    from local_runtime.environment import function_environment, template_overrides
    from local_runtime.pool import LocalRunner
    from local_runtime.template import load_template

    try:
        event = read_event(args.event)
    except (OSError, ValueError) as error:
        print(f"cannot read the event: {error}", file=sys.stderr)
        return 2
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    parameters = dict(item.split("=", 1) for item in args.parameter_overrides if "=" in item)
    template = load_template(args.template, {**template_overrides(state_dir), **parameters})
    ddb = None
    try:
        endpoint = args.dynamodb_endpoint or running_dynamodb(state_dir)
        if endpoint is None:
            ddb = DynamoDBLocal(ROOT, port=0, log_path=state_dir / "dynamodb-local-invoke.log")
            ddb.start()
            endpoint = ddb.endpoint
        create_tables(endpoint, list(template.tables.values()))
        runner = LocalRunner(template.functions, function_environment(state_dir, endpoint), log=sys.stderr)
        try:
            fn = runner.find(args.function)
        except KeyError as error:
            print(error.args[0], file=sys.stderr)
            return 2
        fn.environment.update(env_overrides(args.env_vars, fn.logical_id))
        if args.debug_port:
            runner.debug = (fn.logical_id, args.debug_port)
        try:
            result = runner.invoke_event(fn.logical_id, event)
        finally:
            runner.close()
    except SetupError as error:
        print(str(error), file=sys.stderr)
        return 2
    finally:
        if ddb is not None:
            ddb.stop()
    print(json.dumps(result.payload))
    return 1 if result.is_error else 0
