"""Property: whatever profiles exist, however they fall into listing shards, and whatever edits and merges
happened, the org listing lists every live profile exactly once (merged ones never) and name search finds
exactly the profiles whose current names match, at any page size. On moto."""

import itertools
import os
import uuid
import zlib
from unittest import mock

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from customer_profiles.data import keys
from customer_profiles.data.keys import search_name
from customer_profiles.domain.identity import linking
from customer_profiles.domain.sales import pos
from customer_profiles.domain.staff import org_console
from customer_profiles.edge import secrets as secret_store
from customer_profiles.models.api import PosSaleRequest, ProfileUpdateRequest
from customer_profiles.models.domain import Profile, ProfileAttributes
from tests.unit.conftest import each_example_from_empty, staff_principal
from tests.unit.test_data_layer import every_page

NAMES = st.sampled_from(["Ann", "Anna", "Andy", "Anderson", "Bob", "Bea", "Émile", "emma", "Zoë", "Zed"])
PREFIXES = ["a", "an", "em", "z"]
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), NAMES, st.one_of(st.none(), NAMES)),
        st.tuples(st.just("rename"), st.integers(0, 30), NAMES),
        st.tuples(st.just("merge"), st.integers(0, 30), st.integers(0, 30)),
    ),
    max_size=10,
)
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "20"))
# Hypothesis' explain phase traces every line run (moto's included) and runs out of memory on long runs.
WITHOUT_EXPLAIN = [phase for phase in Phase if phase is not Phase.explain]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=WITHOUT_EXPLAIN,
)
@given(actions=ACTIONS, limits=st.lists(st.integers(1, 5), min_size=2, max_size=2))
@each_example_from_empty
def test_listing_and_name_search_are_exact_at_any_page_size(store, actions, limits):
    org = f"org-{uuid.uuid4().hex[:8]}"  # a fresh org per example: the moto table is shared
    seller = staff_principal("till", org, "pos")
    admin = staff_principal("admin", org, "admin")
    names: dict[str, tuple[str, str | None]] = {}  # live profile id -> (given, family)
    order: list[str] = []
    for action in actions:
        live = [p for p in order if p in names]
        if action[0] == "create":
            _, given_name, family_name = action
            customer = {"given_name": given_name, **({"family_name": family_name} if family_name else {})}
            request = PosSaleRequest.model_validate(
                {
                    "currency": "GBP",
                    "payment_method": "cash",
                    "lines": [{"kind": "ticket", "item_id": "ev", "quantity": 1, "unit_price": 1}],
                    "customer": customer,
                }
            )
            profile_id = pos.create_pos_sale(
                store, seller, org, request, receipt_keys=secret_store.receipt_code_keys
            ).profile.profile_id
            names[profile_id] = (given_name, family_name)
            order.append(profile_id)
        elif action[0] == "rename" and live:
            profile_id = live[action[1] % len(live)]
            current = store.get_profile(org, profile_id)
            org_console.update_profile(
                store,
                admin,
                org,
                profile_id,
                ProfileUpdateRequest(version=current.version, attributes=ProfileAttributes(given_name=action[2])),
            )
            names[profile_id] = (action[2], names[profile_id][1])
        elif action[0] == "merge" and len(live) >= 2:
            source_id = live[action[1] % len(live)]
            target_id = next(p for p in live[action[2] % len(live) :] + live if p != source_id)
            linking.merge_profile_into(
                store, store.get_profile(org, source_id), store.get_profile(org, target_id), "2026-12-01T00:00:00.000Z"
            )
            del names[source_id]

    listed = every_page(
        lambda limit, cursor: org_console.list_profiles(store, admin, org, search=None, limit=limit, cursor=cursor),
        limits[0],
    )
    assert sorted(listed) == sorted(names)  # every live profile exactly once, merged ones never
    for prefix in PREFIXES:
        found = every_page(
            lambda limit, cursor, prefix=prefix: org_console.list_profiles(
                store, admin, org, search=("name", prefix), limit=limit, cursor=cursor
            ),
            limits[1],
        )
        expected = {
            p for p, parts in names.items() if any(n and search_name(n).startswith(search_name(prefix)) for n in parts)
        }
        assert sorted(found) == sorted(expected), prefix


def _ids_by_shard(per_shard: int) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {s: [] for s in range(keys.ORG_LISTING_SHARDS)}
    for n in itertools.count():
        candidate = f"p{n:05d}"
        shard = zlib.crc32(candidate.encode()) % keys.ORG_LISTING_SHARDS
        if len(found[shard]) < per_shard:
            found[shard].append(candidate)
        if all(len(ids) == per_shard for ids in found.values()):
            return found
    raise AssertionError("unreachable")


IDS_BY_SHARD = _ids_by_shard(per_shard=6)
LISTED = st.lists(
    st.tuples(
        st.integers(0, keys.ORG_LISTING_SHARDS - 1),  # the shard the profile's id falls into
        st.integers(0, 3),  # the second it was created in (ties are broken by the profile id)
        st.booleans(),  # written when the listing had 4 shards (still under shard 0-3)
    ),
    max_size=14,
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=WITHOUT_EXPLAIN,
)
@given(profiles=LISTED, limit=st.integers(1, 6))
@each_example_from_empty
def test_the_sharded_listing_pages_to_the_end_exactly_once_newest_first(store, profiles, limit):
    # The listing is written over 32 shards (an on-sale's new profiles would make fewer shards hot keys:
    # bench/onsale.py); a page merges every shard, and profiles written under the old 4 shards still show.
    org = f"org-{uuid.uuid4().hex[:8]}"
    admin = staff_principal("admin", org, "admin")
    taken = {shard: iter(ids) for shard, ids in IDS_BY_SHARD.items()}
    made: list[Profile] = []
    for shard, second, legacy in profiles:
        profile_id = next(taken[shard], None)
        if profile_id is None:
            continue
        at = f"2026-12-01T00:00:0{second}.000Z"
        profile = Profile(org_id=org, profile_id=profile_id, origin="pos", created_at=at, updated_at=at)
        with mock.patch.object(keys.profiles, "ORG_LISTING_SHARDS", 4 if legacy else keys.ORG_LISTING_SHARDS):
            store.create_user_profile(profile)
        made.append(profile)

    listed = every_page(
        lambda limit, cursor: org_console.list_profiles(store, admin, org, search=None, limit=limit, cursor=cursor),
        limit,
    )

    newest_first = sorted(made, key=lambda p: (p.created_at, p.profile_id), reverse=True)
    assert listed == [p.profile_id for p in newest_first]
