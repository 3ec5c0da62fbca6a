"""The one re-drive policy (domain.effects.effects.redrive), for the linker's sweep and the operator alike:
on an in-memory fake of the pending effects' port, no table."""

from datetime import UTC, datetime, timedelta

from customer_profiles.domain.effects import effects
from customer_profiles.models.domain import PendingEffect
from customer_profiles.models.events import DomainEvent
from linker import SWEEP

OPERATOR = effects.RedrivePolicy()


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def publishing(name: str, *, minutes_ago: float) -> PendingEffect:
    cause = {"detail_type": name, "detail": {}}
    return PendingEffect(kind="publish", effect_id=name, cause=cause, created_at=ago(minutes_ago))


class FakePending:
    """The pending effects' port (ports.effects.PendingEffects), in memory."""

    def __init__(self, *effects_: PendingEffect) -> None:
        self.effects = {e.effect_id: e for e in effects_}

    def put_pending(self, effect: PendingEffect) -> bool:
        return self.effects.setdefault(effect.effect_id, effect) is effect

    def get_pending(self, effect: PendingEffect) -> PendingEffect | None:
        return self.effects.get(effect.effect_id)

    def all_pending(self) -> list[PendingEffect]:
        return sorted(self.effects.values(), key=lambda e: e.created_at)

    def complete_pending(self, effect: PendingEffect) -> None:
        del self.effects[effect.effect_id]


def test_the_sweep_leaves_young_effects_to_the_stream_and_the_operator_takes_them_all():
    # Given an effect the stream left an hour ago and one written a moment ago
    def both() -> FakePending:
        return FakePending(publishing("Old", minutes_ago=60), publishing("New", minutes_ago=0))

    published: list[DomainEvent] = []

    # When the sweep re-drives, then the operator
    swept = effects.redrive(store := both(), published.extend, SWEEP)
    operated = effects.redrive(both(), published.extend, OPERATOR)

    # Then the sweep completed only the old one and says what was pending and how old; the operator both
    assert (swept.done, swept.pending, swept.left, swept.failed) == (1, 2, 0, [])
    assert 3590 < swept.oldest_seconds < 3700 and [e.effect_id for e in store.all_pending()] == ["New"]
    assert operated.done == 2
    assert [e.detail_type for e in published] == ["Old", "Old", "New"]


def chained(caused: str, *, minutes_ago: float) -> tuple[FakePending, effects.Publish]:
    """An old effect whose publishing writes another one, `minutes_ago` old (as a link leaves re-keys)."""
    store = FakePending(publishing("First", minutes_ago=60))

    def publish(events: list[DomainEvent]) -> None:
        if events[0].detail_type == "First":
            store.put_pending(publishing(caused, minutes_ago=minutes_ago))

    return store, publish


def redriven_by_each_policy(
    caused: str, *, minutes_ago: float
) -> tuple[effects.Redrive, FakePending, effects.Redrive, FakePending]:
    swept_store, publish = chained(caused, minutes_ago=minutes_ago)
    swept = effects.redrive(swept_store, publish, SWEEP)
    operated_store, publish = chained(caused, minutes_ago=minutes_ago)
    operated = effects.redrive(operated_store, publish, OPERATOR)
    return swept, swept_store, operated, operated_store


def test_the_sweep_makes_one_pass_a_run_and_the_operator_passes_until_none_is_left():
    # Given an effect whose publishing surfaces another one the stream left long ago (the index caught up)
    # When each policy re-drives
    swept, swept_store, operated, operated_store = redriven_by_each_policy("Surfaced", minutes_ago=60)

    # Then the sweep's one pass leaves it for its next run; the operator completes it
    assert swept.done == 1 and [e.effect_id for e in swept_store.all_pending()] == ["Surfaced"]
    assert operated.done == 2 and operated_store.all_pending() == []


def test_what_completing_an_effect_causes_is_completed_in_the_next_round_by_the_operator_only():
    # Given an effect whose publishing writes another effect (as a link leaves re-keys)
    # When each policy re-drives
    swept, swept_store, operated, operated_store = redriven_by_each_policy("Caused", minutes_ago=0)

    # Then the sweep leaves the new effect to the stream, and the operator leaves nothing
    assert swept.done == 1 and [e.effect_id for e in swept_store.all_pending()] == ["Caused"]
    assert operated.done == 2 and operated_store.all_pending() == []


def test_a_failing_effect_is_reported_once_and_does_not_stop_the_others():
    # Given three old effects, the middle one's publishing failing every time
    store = FakePending(*(publishing(name, minutes_ago=60 - n) for n, name in enumerate(("A", "Broken", "C"))))
    tries: list[str] = []

    def publish(events: list[DomainEvent]) -> None:
        tries.append(events[0].detail_type)
        if events[0].detail_type == "Broken":
            raise RuntimeError("EventBridge is down")

    # When the operator re-drives (up to 10 rounds)
    result = effects.redrive(store, publish, OPERATOR)

    # Then the others are done, the failing one tried once, reported, and still pending
    assert result.done == 2 and tries == ["A", "Broken", "C"]
    assert result.failed == ["publish Broken: RuntimeError: EventBridge is down"]
    assert [e.effect_id for e in store.all_pending()] == ["Broken"]


def test_a_re_drive_stops_when_told_and_says_how_many_it_left():
    # Given five old effects, and time for two
    store = FakePending(*(publishing(f"E{n}", minutes_ago=60 - n) for n in range(5)))
    looks = iter([False, False, True])

    # When the sweep re-drives, asking before each effect
    result = effects.redrive(store, lambda events: None, SWEEP, stop=lambda: next(looks))

    # Then the two oldest are done and three are left for the next run
    assert (result.done, result.left) == (2, 3)
    assert [e.effect_id for e in store.all_pending()] == ["E2", "E3", "E4"]
