"""SnapStart hooks: each function behind the API registers them at import (with the runtime's own registry,
snapshot_restore_py); before the snapshot they build and prime its clients without sending anything, after a
restore they reseed `random` and keep the clients."""

import importlib
import random
from collections import Counter
from types import SimpleNamespace

import boto3
import botocore.client
import pytest
import snapshot_restore_py
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import app_api
import authorizer
import org_api
import partner_webhooks
from customer_profiles.data.store import Store
from customer_profiles.edge import snapstart
from customer_profiles.edge.tracing import powertools_tracer
from tests.support.requests import requests_of
from tests.unit.test_authorizer import configure

MODULES = {"authorizer": authorizer, "app_api": app_api, "org_api": org_api, "partner_webhooks": partner_webhooks}
FACTORIES = {
    "authorizer": (authorizer.verifier, authorizer.store),
    "app_api": (app_api.store, powertools_tracer),
    "org_api": (org_api.store, powertools_tracer),
    "partner_webhooks": (partner_webhooks.store, powertools_tracer),
}


def before_snapshot(function: str) -> tuple:
    """The (factories, primers) the function registered for before the snapshot."""
    hooks = [args for hook, args, _ in snapshot_restore_py.get_before_snapshot() if hook is snapstart.build]
    (found,) = [args for args in hooks if args[0] == FACTORIES[function]]
    return found


@pytest.fixture
def fresh_caches(tmp_path, monkeypatch, aws):
    configure(tmp_path, monkeypatch)  # the authorizer's settings (a local JWKS file: nothing fetched)
    caches = {factory for factories in FACTORIES.values() for factory in factories}
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.mark.parametrize("function", sorted(FACTORIES))
def test_each_function_behind_the_api_registers_its_hooks_with_the_runtime(function):
    assert before_snapshot(function)
    assert snapstart.renew in [hook for hook, _, _ in snapshot_restore_py.get_after_restore()]


@pytest.mark.parametrize("function", sorted(FACTORIES))
def test_before_the_snapshot_clients_are_built_and_primed(function, fresh_caches):
    factories, primers = before_snapshot(function)

    snapstart.build(factories, primers)

    assert all(factory.cache_info().currsize == 1 for factory in factories)  # the first request builds nothing
    assert MODULES[function].store().memberships_of("nobody") == []  # and the primed client works as before


def test_priming_a_store_sends_nothing():
    """Against an address where nothing listens: a request that left the process would fail."""
    nowhere = boto3.resource(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    store = Store("profiles", nowhere)

    store.prime()

    with pytest.raises(EndpointConnectionError):
        store.get_user("someone")


def test_a_restore_reseeds_random_and_keeps_the_clients(fresh_caches):
    snapstart.build((app_api.store,))
    client = app_api.store().db.client
    random.seed(42)
    snapshot_draw = random.random()
    random.seed(42)  # every environment restored from one snapshot starts here

    snapstart.renew()

    assert random.random() != snapshot_draw
    assert app_api.store().db.client is client


@pytest.mark.parametrize("function", ["app_api", "org_api"])
def test_the_handler_is_primed_by_a_request_answered_401_that_reads_nothing(function, aws, monkeypatch):
    _, (_, handler_primer) = before_snapshot(function)
    calls: list[str] = []
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", lambda client, name, params: calls.append(name))
    for name in snapstart.COLD_START_FLAGS:  # as in a fresh environment
        monkeypatch.setattr(importlib.import_module(name), "is_cold_start", True)

    answer = handler_primer()

    assert (answer["statusCode"], calls) == (401, [])
    # The first real request still reports the environment's cold start (log key, trace annotation, metric).
    assert all(importlib.import_module(name).is_cold_start for name in snapstart.COLD_START_FLAGS)


def test_after_a_restore_each_function_opens_its_connection(monkeypatch):
    opened: list[str] = []
    for name, module in MODULES.items():
        fake = SimpleNamespace(connect=lambda name=name: opened.append(name))
        # what the hooks call, by name, at restore (an API function's, through its `function`)
        monkeypatch.setattr(getattr(module, "function", module), "store", lambda fake=fake: fake)

    for hook, args, kwargs in snapshot_restore_py.get_after_restore():
        if hook is snapstart.renew:
            hook(*args, **kwargs)

    assert sorted(opened) == sorted(MODULES)


def test_opening_the_connection_is_one_read(store):
    assert requests_of(store, store.connect) == Counter({"GetItem": 1})


def test_a_connection_that_cannot_open_after_a_restore_is_left_to_the_first_request(caplog):
    nowhere = boto3.resource(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    snapstart.renew((Store("profiles", nowhere).connect,))  # does not raise: the restore goes on

    assert "could not open a connection" in caplog.text
