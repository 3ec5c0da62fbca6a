"""Nothing the local runtime starts is reachable from another machine or from a web page: every socket its
processes listen on is a loopback one, as the OS reports it (read, not probed: nothing is sent off loopback),
and a cross-site request to each endpoint is refused or, for the API, meets what API Gateway answers."""

import ipaddress
import json

import psutil
import pytest
import requests

pytestmark = pytest.mark.integration
EVIL = "http://evil.example"
LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, x"}


def listening(pid: int) -> dict[str, list[str]]:
    """Each process of the tree (its command's first words) and the addresses it listens on."""
    root = psutil.Process(pid)
    found: dict[str, list[str]] = {}
    for process in [root, *root.children(recursive=True)]:
        sockets = [c for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        if sockets:
            name = " ".join(process.cmdline()[:3])
            found[name] = sorted(f"{c.laddr.ip}:{c.laddr.port}" for c in sockets)
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def test_every_listening_socket_is_on_loopback(runtime):
    found = listening(runtime.pid)

    everything = [address for addresses in found.values() for address in addresses]
    assert len(everything) >= 3, found  # the API, the Lambda endpoint, DynamoDB Local
    assert all(is_loopback(address) for address in everything), found
    assert any("java" in name for name in found), found


def test_dynamodb_local_answers_this_machines_clients_only(runtime):
    url = runtime.dynamodb_endpoint

    ours = requests.post(url, data="{}", headers={**LIST_TABLES, **SIGNED}, timeout=10)
    page = requests.post(url, data="{}", headers={**LIST_TABLES, **SIGNED, "Origin": EVIL}, timeout=10)
    rebound = requests.post(url, data="{}", headers={**LIST_TABLES, **SIGNED, "Host": "evil.example"}, timeout=10)
    preflight = requests.options(url, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}, timeout=10)

    assert ours.status_code == 200 and "TableNames" in ours.json()
    for refused in (page, rebound, preflight):
        assert refused.status_code == 403, refused.text
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert "TableNames" not in refused.text


def test_the_lambda_endpoint_refuses_a_web_page(runtime):
    url = f"{runtime.lambda_endpoint}/2015-03-31/functions/AuthorizerFunction/invocations"
    event = json.dumps({"type": "REQUEST", "headers": {}})

    form = requests.post(url, data=event, headers={"Content-Type": "text/plain", "Origin": EVIL}, timeout=10)
    rebound = requests.post(url, data=event, headers={"Host": "evil.example"}, timeout=10)
    no_origin_text = requests.post(url, data=event, headers={"Content-Type": "text/plain"}, timeout=10)

    assert (form.status_code, rebound.status_code, no_origin_text.status_code) == (403, 403, 415)


def test_the_api_answers_a_web_page_as_api_gateway_does_with_no_ambient_credentials(runtime):
    # Bearer tokens are never sent by a browser on its own: a cross-site request is anonymous
    answer = requests.get(f"{runtime.base_url}/v1/me", headers={"Origin": EVIL}, timeout=10)

    assert answer.status_code == 401
