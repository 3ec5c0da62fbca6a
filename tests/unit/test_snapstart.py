"""SnapStart hooks: each function behind the API registers them at import (with the runtime's own registry,
snapshot_restore_py), they build its clients before the snapshot and replace them after a restore."""

import random

import botocore.client
import pytest
import snapshot_restore_py

import app_api
import authorizer
import org_api
import partner_webhooks
from customer_profiles.edge import snapstart
from customer_profiles.edge.tracing import powertools_tracer
from tests.unit.test_authorizer import configure

FACTORIES = {
    "authorizer": (authorizer.verifier, authorizer.store),
    "app_api": (app_api.store, powertools_tracer),
    "org_api": (org_api.store, powertools_tracer),
    "partner_webhooks": (partner_webhooks.store, powertools_tracer),
}


def registered(hooks: list, hook) -> list[tuple]:
    return [args[0] for func, args, _ in hooks if func is hook]


@pytest.mark.parametrize("function", sorted(FACTORIES))
def test_each_function_behind_the_api_registers_its_hooks_with_the_runtime(function):
    factories = FACTORIES[function]
    assert factories in registered(snapshot_restore_py.get_before_snapshot(), snapstart.build)
    assert factories in registered(snapshot_restore_py.get_after_restore(), snapstart.renew)


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
def test_before_the_snapshot_the_clients_are_built_and_after_a_restore_replaced(function, fresh_caches):
    factories = FACTORIES[function]
    assert all(factory.cache_info().currsize == 0 for factory in factories)

    snapstart.build(factories)
    before = [factory() for factory in factories]
    assert all(factory.cache_info().currsize == 1 for factory in factories)  # the first request builds nothing

    snapstart.renew(factories)
    after = [factory() for factory in factories]
    for old, new in zip(before, after, strict=True):
        assert new is not old
        if hasattr(old, "db"):  # a Store: a new boto3 client, so no connection pool from the snapshot
            assert new.db.client is not old.db.client


def test_a_restore_reseeds_random_so_restored_environments_do_not_share_their_jitter():
    random.seed(42)
    snapshot_draw = random.random()
    random.seed(42)  # every environment restored from one snapshot starts here
    snapstart.renew(())
    assert random.random() != snapshot_draw


def test_the_store_works_after_a_restore(fresh_caches):
    snapstart.build((app_api.store,))
    snapstart.renew((app_api.store,))
    assert app_api.store().memberships_of("nobody") == []


@pytest.mark.parametrize("module", [app_api, org_api])
def test_the_resolver_is_primed_before_the_snapshot_by_a_request_answered_401_that_reads_nothing(
    module, aws, monkeypatch
):
    hooks = [args for func, args, _ in snapshot_restore_py.get_before_snapshot() if func is snapstart.build]
    (prime,) = [prime for factories, prime in hooks if factories == (module.store, powertools_tracer)]
    sent: list[str] = []
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", lambda client, name, params: sent.append(name))

    answer = prime()

    assert (answer["statusCode"], sent) == (401, [])  # no request leaves before the snapshot
