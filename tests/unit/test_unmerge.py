"""Exact unmerge by an org admin (docs/decisions.md, unmerge), on moto: a profile merged into its person's by a
link comes back as it was before the merge, except what changed in between, which follows its rule."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from customer_profiles.data import keys
from customer_profiles.data.table import KeyCondition
from customer_profiles.domain.effects import effects
from customer_profiles.domain.identity import unmerge, users
from customer_profiles.domain.privacy import consents
from customer_profiles.domain.staff import org_console
from customer_profiles.errors import LineageExpired, NotFound, NotMerged
from customer_profiles.models.consents import ConsentsRequest
from tests.unit.conftest import each_example_from_empty, staff_principal
from tests.unit.test_linking import buy, person, run_pending_links, sell
from tests.unit.test_proof_per_sale import orders_seen, tickets_seen

WITHOUT_EXPLAIN = [phase for phase in Phase if phase is not Phase.explain]
MINE, TYPED = "me@example.com", "typed@example.com"


def at(minutes: int) -> str:
    return (datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


def said(purpose, status, minutes):
    return ConsentsRequest.model_validate(
        {"consents": [{"purpose": purpose, "status": status, "stated_at": at(minutes)}]}
    )


def verifying(principal, email):
    """The same person's token once they verified another email."""
    return principal.__class__(**{**principal.__dict__, "email": email, "email_verified": True})


def snapshot(store, org_id, profile_id):
    """What the org keeps under the profile: children, captured identifiers, cards, consents, search entries."""
    profile = store.get_profile(org_id, profile_id)
    _, orders, entitlements = store.profile_with_children(org_id, profile_id)
    condition = KeyCondition("pk").eq(keys.profile_pk(org_id, profile_id)) & KeyCondition("sk").begins_with("SEARCH#")
    search = store.db.query_all(KeyConditionExpression=condition, ConsistentRead=True)
    captured = profile.captured.model_dump() if profile.captured else None
    return {
        "orders": sorted(o.order_id for o in orders),
        "entitlements": sorted((e.entitlement_id, e.status) for e in entitlements),
        "captured": captured,
        "cards": sorted(profile.cards),
        "consents": {p: s.statement_id for p, s in store.consents_of(org_id, profile_id).items()},
        "search": sorted(i["sk"] for i in search),
        "merged_into": profile.merged_into,
    }


def mistaken_merge(store, org, *, t_sales=1, s_sales=1, with_phone=False, s_consent=None, t_consent=None):
    """The person's own profile T (their purchases and a window sale typed with their own email), a window
    profile S typed with another email (a dormant holder), then the person verifies that email: S merges into T."""
    me = person(email=MINE)
    users.register_me(store, me)
    t_id = None
    for _ in range(t_sales):
        t_id = buy(store, me, org).order.profile_id
    t_id = sell(store, org, email=MINE).profile.profile_id if t_id is None else t_id
    customer = {"email": TYPED, **({"phone": "+447911123456"} if with_phone else {})}
    s_id = sell(store, org, **customer).profile.profile_id
    for _ in range(s_sales - 1):
        sell(store, org, email=TYPED)
    admin = staff_principal("admin", org, "admin")
    if s_consent is not None:
        consents.record_by_staff(store, admin, org, s_id, said("marketing_email", *s_consent))
    if t_consent is not None:
        consents.set_my_consents(store, me, org, said("marketing_email", *t_consent))
    before = {
        "S": snapshot(store, org, s_id),
        "T": snapshot(store, org, t_id),
        "history": (orders_seen(store, me), tickets_seen(store, me)),
    }
    me = verifying(me, TYPED)
    users.register_me(store, me)
    run_pending_links(store)
    assert store.get_profile(org, s_id).merged_into == t_id
    return me, admin, s_id, t_id, before


def test_a_mistaken_merge_is_undone_and_the_profile_goes_to_the_holder_of_its_other_identifier(store):
    org = "org-a"
    me, admin, s_id, t_id, before = mistaken_merge(store, org, with_phone=True, s_consent=("granted", 5))
    answered = unmerge.request_unmerge(store, admin, org, s_id)
    assert answered.unmerging_at and answered.merged_into == t_id
    published = run_pending_links(store)

    assert snapshot(store, org, s_id) == before["S"]
    assert snapshot(store, org, t_id) == before["T"]
    assert (orders_seen(store, me), tickets_seen(store, me)) == before["history"]
    restored = store.get_profile(org, s_id)
    holder = store.identifier_holders([("phone", "+447911123456")])[("phone", "+447911123456")]
    assert restored.user_id == holder.user_id and store.get_user(holder.user_id).status == "dormant"
    assert [e.detail_type for e in published if e.detail_type == "ProfilesUnmerged"] == ["ProfilesUnmerged"]
    assert store.merged_profile_ids(org, t_id) == []
    assert [m.kind for m in store.moves_of(org, s_id, "merge")][-1] == "unmerge"


def test_a_statement_the_survivor_took_goes_back_unless_its_person_stated_anew_since(store):
    # (a statement staff relayed never replaces the person's own: the survivor took it only for a purpose it lacked)
    _, admin, s_id, t_id, before = mistaken_merge(store, "org-a", s_consent=("granted", 10))
    assert store.consents_of("org-a", t_id)["marketing_email"].status == "granted"
    unmerge.request_unmerge(store, admin, "org-a", s_id)
    run_pending_links(store)
    assert snapshot(store, "org-a", t_id)["consents"] == before["T"]["consents"] == {}
    assert snapshot(store, "org-a", s_id)["consents"] == before["S"]["consents"] != {}


def test_a_statement_the_survivors_person_made_since_stays(store):
    me, admin, s_id, t_id, _ = mistaken_merge(store, "org-b", s_consent=("granted", 10))
    consents.set_my_consents(store, me, "org-b", said("marketing_email", "withdrawn", 30))  # stated anew since
    unmerge.request_unmerge(store, admin, "org-b", s_id)
    run_pending_links(store)
    assert store.consents_of("org-b", t_id)["marketing_email"].status == "withdrawn"
    assert store.consents_of("org-b", s_id)["marketing_email"].status == "granted"


def test_the_unmerge_is_on_both_profiles_trails(store):
    _, admin, s_id, t_id, _ = mistaken_merge(store, "org-a")
    unmerge.request_unmerge(store, admin, "org-a", s_id)
    run_pending_links(store)
    moves = [m for m in store.moves_of("org-a", s_id, "merge") if m.kind == "unmerge"]
    assert len(moves) == 1 and (moves[0].from_profile_id, moves[0].to_profile_id) == (t_id, s_id)


def test_a_repeat_while_pending_changes_nothing_and_after_it_is_done_is_not_merged(store):
    _, admin, s_id, _, _ = mistaken_merge(store, "org-a")
    first = unmerge.request_unmerge(store, admin, "org-a", s_id)
    again = unmerge.request_unmerge(store, admin, "org-a", s_id)
    assert again == first
    assert [e.kind for e in store.all_pending()] == ["unmerge_profile"]
    run_pending_links(store)
    with pytest.raises(NotMerged):
        unmerge.request_unmerge(store, admin, "org-a", s_id)


def test_a_profile_never_merged_is_409_not_merged(store):
    s_id = sell(store, "org-a", email=TYPED).profile.profile_id
    with pytest.raises(NotMerged) as refused:
        unmerge.request_unmerge(store, staff_principal("admin", "org-a", "admin"), "org-a", s_id)
    assert refused.value.code == "not_merged"


def test_another_orgs_admin_finds_no_such_profile(store):
    _, _, s_id, _, _ = mistaken_merge(store, "org-a")
    with pytest.raises(NotFound):
        unmerge.request_unmerge(store, staff_principal("admin-b", "org-b", "admin"), "org-b", s_id)


def test_past_the_retention_time_it_is_409_lineage_expired(store):
    _, admin, s_id, _, _ = mistaken_merge(store, "org-a")
    # the merge's moves are read back with their TTL as `expires_at`: 181 days on, past the default 180
    later = (datetime.now(UTC) + timedelta(days=181)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with pytest.raises(LineageExpired) as refused:
        unmerge.merge_moves(store, store.get_profile("org-a", s_id), now=later)
    assert refused.value.code == "lineage_expired"
    for item in store.db.query_all(
        KeyConditionExpression=KeyCondition("pk").eq(keys.profile_pk("org-a", s_id))
        & KeyCondition("sk").begins_with(keys.MOVE_SK_PREFIX),
        ConsistentRead=True,
    ):
        store.db.table.update_item(
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET expiration = :past",
            ExpressionAttributeValues={":past": int(datetime.now(UTC).timestamp()) - 60},
        )
    with pytest.raises(LineageExpired):
        unmerge.request_unmerge(store, admin, "org-a", s_id)
    assert store.get_profile("org-a", s_id).unmerging_at is None


class Interrupted(Exception):
    pass


class Failing:
    """The store, failing once at `step` (a crash in the middle of the effect)."""

    def __init__(self, store, step):
        self.store, self.step, self.failed = store, step, False

    def __getattr__(self, name):
        found = getattr(self.store, name)
        if name == self.step and not self.failed:

            def fail(*args, **kwargs):
                self.failed = True
                raise Interrupted(name)

            return fail
        return found


STEPS = st.sampled_from([None, "return_children", "point_open_sales_at", "return_consents", "finish_unmerge"])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], phases=WITHOUT_EXPLAIN
)
@given(
    t_sales=st.integers(0, 2),
    s_sales=st.integers(1, 2),
    with_phone=st.booleans(),
    s_consent=st.none() | st.tuples(st.sampled_from(["granted", "withdrawn"]), st.integers(0, 20)),
    t_consent=st.none() | st.tuples(st.sampled_from(["granted", "withdrawn"]), st.integers(0, 20)),
    new_sale_to_t=st.booleans(),
    void_one=st.booleans(),
    crash_at=STEPS,
    twice=st.booleans(),
)
@each_example_from_empty
def test_merge_then_unmerge_leaves_everything_where_it_was_but_what_changed_in_between(
    store, t_sales, s_sales, with_phone, s_consent, t_consent, new_sale_to_t, void_one, crash_at, twice
):
    org = f"org-{uuid.uuid4().hex[:8]}"
    me, admin, s_id, t_id, before = mistaken_merge(
        store, org, t_sales=t_sales, s_sales=s_sales, with_phone=with_phone, s_consent=s_consent, t_consent=t_consent
    )
    expected_s, expected_t = dict(before["S"]), dict(before["T"])
    orders_mine, tickets_mine = before["history"]
    if new_sale_to_t:  # the person buys again meanwhile: it stays with T
        sold = buy(store, me, org)
        expected_t["orders"] = sorted([*expected_t["orders"], sold.order.order_id])
        expected_t["entitlements"] = sorted(
            [*expected_t["entitlements"], *((e.entitlement_id, e.status) for e in sold.entitlements)]
        )
        orders_mine = orders_mine | {sold.order.order_id}
        tickets_mine = tickets_mine | {e.entitlement_id for e in sold.entitlements}
    if void_one:  # one of S's tickets voided under T meanwhile: it goes back to S voided
        ticket = expected_s["entitlements"][0][0]
        org_console.void_entitlement(store, admin, org, t_id, ticket)
        expected_s["entitlements"] = sorted(
            (e, "void" if e == ticket else status) for e, status in expected_s["entitlements"]
        )

    unmerge.request_unmerge(store, admin, org, s_id)
    effect = next(e for e in store.all_pending() if e.kind == "unmerge_profile")
    if crash_at:
        crashing = Failing(store, crash_at)
        try:
            effects.perform(crashing, effect)
        except Interrupted:
            assert crashing.failed
        else:  # a step it had nothing for (no consent): it ran whole
            assert crash_at == "return_consents" and not crashing.failed
    if twice:
        effects.perform(store, effect)
    run_pending_links(store)
    effects.perform(store, effect)  # a redelivery after it was done changes nothing

    assert snapshot(store, org, s_id) == expected_s
    assert snapshot(store, org, t_id) == expected_t
    assert (orders_seen(store, me), tickets_seen(store, me)) == (orders_mine, tickets_mine)
    assert not store.all_pending()
