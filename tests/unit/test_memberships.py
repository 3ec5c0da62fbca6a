"""Staff memberships: the one writer keeps both copies and the admin count together, under any interleaving."""

import pytest
from boto3.dynamodb.conditions import Key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_profiles.data import keys
from customer_profiles.domain.staff import memberships
from customer_profiles.errors import Forbidden, NotFound, StateConflict
from tests.unit.conftest import staff_principal

ORG = "org-m"


def admins_in_fact(store, org_id=ORG) -> int:
    items = store.db.query_all(KeyConditionExpression=Key("pk").eq(keys.staff_pk(org_id)))
    return sum(1 for i in items if i["sk"].startswith(keys.MEMBER_SK_PREFIX) and "admin" in i["roles"])


def test_both_copies_and_the_roster_are_written_together(store):
    memberships.grant(store, ORG, "ann", ["admin", "pos"])
    memberships.grant(store, "org-n", "ann", ["viewer"])

    assert {m.org_id: m.roles for m in store.memberships_of("ann")} == {ORG: ["admin", "pos"], "org-n": ["viewer"]}
    assert store.membership_and_roster(ORG, "ann")[1].admins == 1

    memberships.grant(store, ORG, "ben", ["admin"])
    memberships.revoke(store, ORG, "ann")

    assert [m.org_id for m in store.memberships_of("ann")] == ["org-n"]
    assert store.membership_and_roster(ORG, "ann")[::2] == (None, None)
    assert store.membership_and_roster(ORG, "ann")[1] == store.membership_and_roster(ORG, "ben")[1]
    assert store.membership_and_roster(ORG, "ben")[1].admins == admins_in_fact(store) == 1


def test_the_last_admin_can_be_neither_removed_nor_demoted(store):
    memberships.grant(store, ORG, "ann", ["admin"])

    with pytest.raises(StateConflict):
        memberships.revoke(store, ORG, "ann")
    with pytest.raises(StateConflict):
        memberships.grant(store, ORG, "ann", ["pos"])
    assert admins_in_fact(store) == 1


def test_an_org_without_an_admin_can_still_get_staff_from_the_operator(store):
    memberships.grant(store, ORG, "till", ["pos"])
    memberships.revoke(store, ORG, "till")

    assert store.memberships_of("till") == []


def test_admins_demoting_each_other_between_read_and_write_leave_one(store, monkeypatch):
    memberships.grant(store, ORG, "ann", ["admin"])
    memberships.grant(store, ORG, "ben", ["admin"])
    write = store.write_membership_change
    interleaved = []

    def write_after_the_other_admin_is_removed(change):
        if not interleaved:  # ann's removal has read (2 admins); ben's removal lands before it writes
            interleaved.append(True)
            monkeypatch.setattr(store, "write_membership_change", write)
            memberships.revoke(store, ORG, "ben")
        write(change)

    monkeypatch.setattr(store, "write_membership_change", write_after_the_other_admin_is_removed)

    with pytest.raises(StateConflict):  # retried on the fresh read: ann is now the last admin
        memberships.revoke(store, ORG, "ann")
    assert admins_in_fact(store) == 1
    assert store.membership_and_roster(ORG, "ann")[0] is not None


def test_only_an_admin_of_the_path_org_manages_its_staff(store):
    memberships.grant(store, ORG, "ann", ["admin"])
    seller = staff_principal("till", ORG, "pos")
    foreign = staff_principal("spy", "org-other", "admin")

    with pytest.raises(Forbidden):
        memberships.put_staff(store, seller, ORG, "till", ["admin"])
    with pytest.raises(NotFound):
        memberships.remove_staff(store, foreign, ORG, "ann")
    membership, created = memberships.put_staff(store, staff_principal("ann", ORG, "admin"), ORG, "cy", ["pos"])
    assert (membership.granted_by, created) == ("ann", True)


SUBJECTS = ["ann", "ben", "cy"]
ROLES = st.lists(st.sampled_from(["admin", "pos", "viewer"]), min_size=1, max_size=3)
STEPS = st.lists(
    st.tuples(st.sampled_from(["grant", "revoke"]), st.sampled_from(SUBJECTS), ROLES, st.booleans()),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_interleaving_keeps_the_roster_true_and_an_admin_once_there_was_one(store, steps):
    """Each step may be overtaken between its read and its write by the next step (`racing`)."""
    org_id = f"org-{abs(hash(tuple(map(str, steps)))) % 10**8}"
    memberships.grant(store, org_id, "ann", ["admin"])

    def run(kind, who, roles):
        try:
            if kind == "grant":
                memberships.grant(store, org_id, who, roles)
            else:
                memberships.revoke(store, org_id, who)
        except (StateConflict, NotFound):
            pass

    write = store.write_membership_change
    for index, (kind, who, roles, racing) in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        if racing and following:

            def overtaken(change, following=following):
                store.write_membership_change = write
                run(*following[:3])
                write(change)

            store.write_membership_change = overtaken
        run(kind, who, roles)
        store.write_membership_change = write

    roster = store.membership_and_roster(org_id, "nobody")[1]
    assert roster.admins == admins_in_fact(store, org_id) >= 1
    org_side = {m.subject: m.roles for m in store.org_staff_page(org_id, limit=100, cursor=None)[0]}
    subject_side = {s: m.roles for s in SUBJECTS for m in store.memberships_of(s) if m.org_id == org_id}
    assert org_side == subject_side
