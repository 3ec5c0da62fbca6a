"""Keys of lineage: each move in the partition of the profile it concerns (sorting after its orders, so no
child range takes it in), and a reference under each identifier a move keeps, where that identifier's erasure
finds it."""

from __future__ import annotations

from customer_profiles.data.keys.base import Key, profile_pk
from customer_profiles.models.domain import Identifier, MoveSubject

MOVE_SK_PREFIX = "UNDO#"
KEPT_PREFIX = "KEPT#"


def moves_sk_prefix(subject: MoveSubject, order_id: str | None = None) -> str:
    """The sort-key prefix of a profile's moves of one subject (one sale's, the profile's, its merge's)."""
    return f"{MOVE_SK_PREFIX}{subject.upper()}#" + (f"{order_id}#" if subject == "order" else "")


def move_key(org_id: str, profile_id: str, subject: MoveSubject, move_id: str, order_id: str | None = None) -> Key:
    return {"pk": profile_pk(org_id, profile_id), "sk": f"{moves_sk_prefix(subject, order_id)}{move_id}"}


def kept_pk(identifier: Identifier) -> str:
    kind, value = identifier
    return f"{KEPT_PREFIX}{kind}#{value}"


def kept_key(identifier: Identifier, move: Key) -> Key:
    """A move that keeps `identifier` (a sale typed with it, a survivor that took it over): one strongly
    consistent Query of the identifier's partition finds every such move when its prover is erased."""
    return {"pk": kept_pk(identifier), "sk": f"{move['pk']}|{move['sk']}"}
