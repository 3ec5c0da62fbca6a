"""The Lambda Invoke API of the local runtime, driven with boto3 as teams' integration tests drive
`sam local start-lambda`."""

import json

import boto3
import pytest
from botocore.config import Config

from tests.unit.conftest import EVENTS_DIR

pytestmark = pytest.mark.integration


def lambda_client(runtime):
    return boto3.client(
        "lambda",
        endpoint_url=runtime.lambda_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )


def test_request_response_returns_the_functions_answer(runtime):
    event = (EVENTS_DIR / "linker-user-registered.json").read_text()

    answer = lambda_client(runtime).invoke(FunctionName="LinkerFunction", Payload=event)

    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"batchItemFailures": []}


def test_an_unhandled_error_comes_back_in_lambdas_error_shape(runtime):
    event = (EVENTS_DIR / "authorizer-request.json").read_text()  # its placeholder token is refused

    answer = lambda_client(runtime).invoke(FunctionName="AuthorizerFunction", Payload=event)

    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert (error["errorMessage"], error["errorType"]) == ("Unauthorized", "Exception")
    assert error["stackTrace"]


def test_event_and_dry_run_invocations_and_an_unknown_function(runtime):
    client = lambda_client(runtime)
    payload = (EVENTS_DIR / "linker-user-registered.json").read_text()

    assert client.invoke(FunctionName="LinkerFunction", InvocationType="Event", Payload=payload)["StatusCode"] == 202
    assert client.invoke(FunctionName="LinkerFunction", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")


def test_a_function_is_found_by_its_deployed_name_too(runtime):
    answer = lambda_client(runtime).invoke(
        FunctionName="arn:aws:lambda:us-east-1:123456789012:function:LinkerFunction", Payload=b'{"Records": []}'
    )
    assert answer["StatusCode"] == 200


FUNCTIONS = {
    "authorizer-": "AuthorizerFunction",
    "app-api-": "AppApiFunction",
    "org-api-": "OrgApiFunction",
    "partner-webhooks-": "PartnerWebhooksFunction",
    "linker-": "LinkerFunction",
}


@pytest.mark.parametrize("event", sorted(p.name for p in EVENTS_DIR.glob("*.json")))
def test_every_event_answers_through_its_functions_warm_worker(runtime, event):
    function = next(f for prefix, f in FUNCTIONS.items() if event.startswith(prefix))
    payload = json.loads((EVENTS_DIR / event).read_text())
    if function == "AuthorizerFunction":  # the committed event holds a placeholder: a fresh token
        payload["headers"]["Authorization"] = f"Bearer {runtime.token()}"

    answer = lambda_client(runtime).invoke(FunctionName=function, Payload=json.dumps(payload))

    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    body = json.loads(answer["Payload"].read())
    assert body.get("statusCode", 200) < 500, body
