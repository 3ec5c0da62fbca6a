"""The identification report's items: a tally per sale and per claim (what it adds to the report now), and
the counter rows they add up to (per day and channel, sharded; per staff member too).

`write_tally` is the one writer: a tally changes only together with its rows, in one transaction guarded by
the tally's version and by every item the new tally was derived from, so the rows always hold the sum of the
tallies, and a tally derived from items that changed meanwhile is never written (docs/decisions.md, 23).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from customer_profiles.data import keys
from customer_profiles.data.codec import (
    Item,
    claim_from_item,
    order_from_item,
    plain,
    profile_from_item,
    receipt_from_item,
    user_from_item,
)
from customer_profiles.data.table import KeyCondition, Records
from customer_profiles.models.domain import Profile
from customer_profiles.ports.effects import Check, ClaimFacts, OrderFacts, Tally, Where, claim_subject, order_subject


def _tally_from_item(item: Item | None) -> Tally | None:
    if not item:
        return None
    item = plain(item)
    where = Where(item["day"], item["channel"], item.get("staff"))
    return Tally(item["org_id"], item["subject"], where, dict(item.get("counts") or {}), int(item["version"]))


def _version_check(key: keys.Key, item: Item | None) -> Check:
    if item is None:
        return Check(key, "attribute_not_exists(pk)")
    return Check(key, "#version = :v", {"v": item["version"]})


class ReportRecords(Records):
    def order_facts(self, pk: str, sk: str) -> OrderFacts | None:
        """The order at this key with what its tally depends on (its profile, the profile's user, its receipt,
        its app client), two strongly consistent BatchGetItem; None when no order is there (it moved on: the
        record of where it went tallies it)."""
        owner = keys.profile_of_pk(pk)
        if owner is None:
            return None
        org_id, profile_id = owner
        first = {
            (i["pk"], i["sk"]): i
            for i in self.db.batch_get([{"pk": pk, "sk": sk}, keys.profile_key(org_id, profile_id)])
        }
        order_item = first.get((pk, sk))
        if order_item is None or order_item.get("type") != "order":
            return None
        order = order_from_item(order_item)
        tally_key = keys.tally_key(org_id, order_subject(order.order_id))
        profile_item = first.get((pk, keys.PROFILE_SK))
        profile = profile_from_item(profile_item) if profile_item else None
        wanted = [tally_key]
        user_key = keys.user_key(profile.user_id) if profile and profile.user_id else None
        receipt_key = keys.receipt_key(order.receipt_hash) if order.receipt_hash else None
        client_key = keys.app_client_key(order.client_id) if order.client_id else None
        wanted += [k for k in (user_key, receipt_key, client_key) if k]
        second = {(i["pk"], i["sk"]): i for i in self.db.batch_get(wanted)}

        def found(key: keys.Key | None) -> Item | None:
            return second.get((key["pk"], key["sk"])) if key else None

        user_item, receipt_item, client_item = found(user_key), found(receipt_key), found(client_key)
        checks = [Check({"pk": pk, "sk": sk}, "attribute_exists(pk)")]
        checks.append(_version_check(keys.profile_key(org_id, profile_id), profile_item))
        if user_key:
            checks.append(_version_check(user_key, user_item))
        if receipt_key:
            status = receipt_item.get("status") if receipt_item else None
            checks.append(
                Check(receipt_key, "#status = :s", {"s": status})
                if status
                else Check(receipt_key, "attribute_not_exists(pk)")
            )
        return OrderFacts(
            order=order,
            profile=profile,
            holder=user_from_item(user_item) if user_item else None,
            receipt=receipt_from_item(receipt_item) if receipt_item else None,
            app_client_org=client_item.get("org_id") if client_item else None,
            tally=_tally_from_item(found(tally_key)),
            checks=checks,
        )

    def claim_facts(self, pk: str) -> ClaimFacts | None:
        """A claim (by its key's partition) with its tally, strongly consistent."""
        claim_key = {"pk": pk, "sk": keys.CLAIM_SK}
        claim_item = self.db.get(claim_key)
        if claim_item is None:
            return None
        claim = claim_from_item(claim_item)
        tally_item = self.db.get(keys.tally_key(claim.org_id, claim_subject(claim.claim_id)))
        return ClaimFacts(claim, _tally_from_item(tally_item), [Check(claim_key, "#status = :s", {"s": claim.status})])

    def order_keys_of_profile(self, pk: str) -> list[tuple[str, str]]:
        """The keys of every order in a profile's partition (strongly consistent, every page, keys only)."""
        condition = KeyCondition("pk").eq(pk) & KeyCondition("sk").begins_with(keys.ORDER_SK_PREFIX)
        items = self.db.query_all(KeyConditionExpression=condition, ConsistentRead=True, ProjectionExpression="pk, sk")
        return [(i["pk"], i["sk"]) for i in items]

    def order_keys_of_user(self, pk: str) -> list[tuple[str, str]]:
        """The keys of every order under every profile of the user in partition `pk` (strongly consistent,
        every page)."""
        user_id = pk.removeprefix(keys.USER_PREFIX)
        profiles: list[Profile] = self.all_profiles_of_user(user_id)  # type: ignore[attr-defined] # ProfileWrites
        return [
            key
            for profile in profiles
            for key in self.order_keys_of_profile(keys.profile_pk(profile.org_id, profile.profile_id))
        ]

    def write_tally(self, before: Tally | None, after: Tally, checks: list[Check]) -> bool:
        """`after` over `before` (as read) and its rows by the difference, with `checks`; False when nothing
        changes. A check or the version failing raises ConcurrentWrite (read again)."""
        deltas = {name: value - (before.counts.get(name, 0) if before else 0) for name, value in after.counts.items()}
        if before:
            deltas |= {name: -value for name, value in before.counts.items() if name not in after.counts}
        deltas = {name: value for name, value in deltas.items() if value}
        if before is not None and not deltas:
            return False
        tx = self.db.tx()
        for check in checks:
            tx.check(check.key, check.condition, **check.values)
        item = {
            **keys.tally_key(after.org_id, after.subject),
            "type": "tally",
            "org_id": after.org_id,
            "subject": after.subject,
            "day": after.where.day,
            "channel": after.where.channel,
            **({"staff": after.where.staff} if after.where.staff else {}),
            "counts": after.counts,
            "version": after.version,
        }
        if before is None:
            tx.put_if_new(item)
        else:
            tx.put_at_version(item, before.version)
        if deltas:
            where = after.where
            shard = keys.report_shard(after.subject)
            rows: list[tuple[keys.Key, dict[str, str]]] = [
                (keys.report_key(after.org_id, shard, where.day, where.channel), {})
            ]
            if where.staff:
                rows.append(
                    (keys.report_staff_key(after.org_id, where.staff, where.day, where.channel), {"staff": where.staff})
                )
            for key, extra in rows:
                labels = {"org_id": after.org_id, "day": where.day, "channel": where.channel, **extra}
                expression = "SET " + ", ".join(f"#{n} = :{n}" for n in labels)
                expression += " ADD " + ", ".join(f"#{n} :{n}" for n in deltas)
                values: dict[str, Any] = {**labels, **deltas}
                tx.update(key, expression, None, **values)
        tx.execute(self.db.client)
        return True

    def report_rows(self, org_id: str, first_day: str, last_day: str, *, staff: bool) -> Iterator[Item]:
        """Every counter row of the org's days `first_day`..`last_day` (inclusive): one Query per shard over
        the range, each followed to its last page. Eventually consistent: a report is a view, decided on
        nothing, and a count a moment behind is read at half the cost."""
        for shard in range(keys.REPORT_SHARDS):
            pk = keys.report_staff_pk(org_id, shard) if staff else keys.report_pk(org_id, shard)
            condition = KeyCondition("pk").eq(pk) & KeyCondition("sk").between(first_day, f"{last_day}~")
            for page in self.db.query_pages(KeyConditionExpression=condition):
                yield from (plain(item) for item in page["Items"])
