"""The identification report's figures counted again from the table's items (a test's Scan), to compare
with what the linker's counters say once the stream is quiet: the rules in the customer's words, not the
tallies the service keeps."""

from collections import Counter
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import claim_from_item, order_from_item, plain, profile_from_item, user_from_item
from customer_profiles.domain.identity.proofs import reached_at

CHANNEL = {"pos": "window", "partner": "reseller"}
FIGURES = (
    "sales",
    "tickets",
    "held_person",
    "held_dormant",
    "held_anonymous_with_receipt",
    "held_anonymous",
    "held_erased",
    "receipt_codes_issued",
    "receipt_codes_redeemed",
    "claims_opened",
    "claims_accepted",
    "claims_cancelled",
    "claims_readdressed",
    "claims_expired",
    "dormant_holders_activated",
)


def recount(items: list[dict[str, Any]], org_id: str) -> dict[tuple[str, str], Counter[str]]:
    """(day, channel) -> figures, from every item of the table."""
    items = [plain(i) for i in items]
    by_key = {(i["pk"], i["sk"]): i for i in items}
    found: dict[tuple[str, str], Counter[str]] = {}

    def get(key: dict[str, str]) -> dict[str, Any] | None:
        return by_key.get((key["pk"], key["sk"]))

    for item in items:
        if item.get("org_id") != org_id or item.get("type") not in ("order", "claim"):
            continue
        if item["type"] == "claim":
            claim = claim_from_item(item)
            counts = found.setdefault((claim.created_at[:10], "reseller"), Counter())
            counts["claims_opened"] += 1
            if claim.status == "claimed":
                counts["claims_accepted"] += 1
            elif claim.status == "expired":
                counts["claims_expired"] += 1
            elif claim.status == "cancelled":
                counts["claims_readdressed" if claim.replaced_by else "claims_cancelled"] += 1
            continue
        order = order_from_item(item)
        client = get(keys.app_client_key(order.client_id)) if order.client_id else None
        channel = CHANNEL.get(order.channel) or (
            "white_label" if client and client.get("org_id") == org_id else "consumer_app"
        )
        counts = found.setdefault((order.created_at[:10], channel), Counter())
        counts["sales"] += 1
        counts["tickets"] += sum(line.quantity for line in order.lines if line.kind == "ticket")
        profile_item = get(keys.profile_key(org_id, order.profile_id))
        profile = profile_from_item(profile_item) if profile_item else None
        user_item = get(keys.user_key(profile.user_id)) if profile and profile.user_id else None
        holder = user_from_item(user_item) if user_item else None
        # a person: bought by them, moved to them, or held by a user who signed up (or was folded into one)
        if profile and profile.erased_at:
            held = "erased"
        elif order.reached_at or (holder is not None and holder.status != "dormant"):
            held = "person"
        elif profile and profile.user_id:
            held = "dormant"
        else:
            held = "anonymous_with_receipt" if order.receipt_hash else "anonymous"
        counts[f"held_{held}"] += 1
        if order.receipt_hash:
            counts["receipt_codes_issued"] += 1
            receipt = get(keys.receipt_key(order.receipt_hash))
            counts["receipt_codes_redeemed"] += bool(receipt and receipt.get("status") == "used")
        reached = reached_at(order, profile, holder) if profile else order.reached_at
        if held == "person" and order.typed and reached and reached > order.created_at:
            counts["dormant_holders_activated"] += 1
    return found


def reported(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Counter[str]]:
    """(day, channel) -> figures, from a report's rows by day (flattened as its CSV names them)."""
    found: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        flat: dict[str, Any] = {}
        for name, value in row.items():
            if isinstance(value, dict):
                flat.update({f"{name}_{inner}": number for inner, number in value.items()})
            else:
                flat[name] = value
        counts = Counter({name: flat[name] for name in FIGURES if flat.get(name)})
        if counts:
            found[row["period"], row["channel"]] = counts
    return found
