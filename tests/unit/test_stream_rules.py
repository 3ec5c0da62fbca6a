"""The stream's domain rules on typed changes and in-memory fakes of their ports (no table, no data layer):
what a change asks of the trail and the tallies, and what is left pending when the store fails."""

from customer_profiles.domain.effects import activity, stream, tallies
from customer_profiles.domain.effects.trail import ProfileActivity, activity_of_change
from customer_profiles.models.activity import Actor
from customer_profiles.models.domain import Order, OrderLine, PendingEffect, Profile
from customer_profiles.ports.effects import ItemKey, OrderChanged, OtherChange, ProfileChanged, StreamRecord

AT = "2026-03-01T10:00:00.123Z"
ORDER_KEY = ItemKey("ORG#org-a#PROFILE#p-1", f"ORDER#{AT}#o-1")
PROFILE_KEY = ItemKey("ORG#org-a#PROFILE#p-1", "PROFILE")
LINE = OrderLine(kind="ticket", item_id="ev-1", quantity=1, unit_price=10)
ORDER = Order(order_id="o-1", org_id="org-a", profile_id="p-1", channel="pos", currency="EUR",
              payment_method="card", total=10, created_at=AT, lines=[LINE])  # fmt: skip
PROFILE = Profile(org_id="org-a", profile_id="p-1", origin="pos", created_at=AT, updated_at=AT)


def order_placed() -> OrderChanged:
    return OrderChanged(event="INSERT", key=ORDER_KEY, old=None, new=ORDER, org_id="org-a", profile_id="p-1",
                        changed_by=Actor.staff("till", "pos"))  # fmt: skip


class Refusing:
    """A store that refuses every read and write but a pending effect's (which it keeps)."""

    def __init__(self) -> None:
        self.pending: list[PendingEffect] = []

    def put_pending(self, effect: PendingEffect) -> bool:
        self.pending.append(effect)
        return True

    def __getattr__(self, name: str):
        def refused(*args, **kwargs):
            raise RuntimeError(f"{name} throttled")

        return refused


def test_an_order_placed_is_on_its_profiles_trail_and_re_tallies_the_order_at_its_key():
    change = order_placed()

    (placed,) = activity_of_change(change, record_time="2026-03-01T10:01:00.000Z")

    assert isinstance(placed, ProfileActivity) and (placed.org_id, placed.profile_id) == ("org-a", "p-1")
    assert (placed.entry.kind, placed.entry.at, placed.entry.order_id) == ("order_placed", AT, "o-1")
    assert tallies.targets_of_change(change) == [tallies.Target("order", ORDER_KEY.pk, ORDER_KEY.sk)]


def test_a_profile_edit_re_tallies_nothing_and_a_link_re_tallies_its_orders():
    edited = PROFILE.model_copy(update={"version": 2, "cards": ["fp"]})
    linked = PROFILE.model_copy(update={"version": 2, "user_id": "u-1"})

    def change(new: Profile) -> ProfileChanged:
        return ProfileChanged(event="MODIFY", key=PROFILE_KEY, old=PROFILE, new=new, org_id="org-a", profile_id="p-1")

    assert tallies.targets_of_change(change(edited)) == []
    assert tallies.targets_of_change(change(linked)) == [tallies.Target("profile", PROFILE_KEY.pk)]


def test_when_the_store_refuses_the_entries_and_the_tallies_wait_as_pending_effects_holding_no_value():
    # Given a record of a new order, and a store that refuses everything but pending effects
    store = Refusing()
    record = StreamRecord("rec-1", "2026-03-01T10:01:00.000Z", order_placed())

    # When its entries and tallies are kept
    entries = stream.record_activity(store, record)  # type: ignore[arg-type]
    counted = stream.record_tallies(store, record)  # type: ignore[arg-type]

    # Then both are deferred to pending effects named after the record: the entries as derived, the recount by key
    assert isinstance(entries.deferred, RuntimeError) and isinstance(counted.deferred, RuntimeError)
    trail, recount = store.pending
    assert (trail.kind, trail.effect_id, recount.kind, recount.effect_id) == (
        "record_activity", "rec-1", "recount", "rec-1")  # fmt: skip
    assert [type(d) for d in activity.deferred_entries(trail.cause)] == [ProfileActivity]
    assert recount.cause["targets"] == [{"kind": "order", "pk": ORDER_KEY.pk, "sk": ORDER_KEY.sk}]


def test_a_change_that_is_no_pending_effect_asks_for_no_work():
    assert stream.handle_change(Refusing(), OtherChange("MODIFY"), lambda events: None) is False
