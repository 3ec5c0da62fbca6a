"""Stateful property: random interleavings of every flow, over HTTP, on the local runtime with `--chaos`
(transaction conflicts, lagging indexes, parallel out-of-order stream shards, redelivered batches, cached
authorizer answers). Several people; window sales and reseller orders typed with random subsets of their
emails and phones (and each other's); sign-ups verifying either or both, in any order; receipt redemptions,
claims, staff attaching identifiers, identifier releases, erasures (of people, and of anonymous customers by
their org), voids, and people disowning sales that reached them by an identifier typed with them.

The model is the rule in the customer's words, never the holders the service keeps: a ticket is seen by the
person who proved first one of the identifiers its sale was typed with (before the sale: the first of them,
as typed, that a person had proved), or who redeemed its receipt code, accepted its claim, or bought it in the
app; once disowned, by whoever proved (or proves first) another identifier it was typed with, never by who
disowned it; by nobody while nobody has; and by nobody once that person erased themselves (a proof still being
carried out when they erased may instead be left for whoever proves an identifier of the sale next). After
quiescence also: every order and entitlement has exactly one live parent, nothing is duplicated or lost, no
pending effect is left, every claim is claimable or used, no item of either table holds an email or phone
an erased person had proved (unless it was typed, proved or attached again after the erasure), and each org's
identification report equals a count of the items (the linker's tallies, exactly once whatever the stream's
order and redeliveries).

`make test` runs a few examples; `make soak` many more (SOAK_EXAMPLES, SOAK_STEPS).
"""

import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import boto3
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from scripts.operator import main as operator
from tests.integration.test_partners import deliver, order, register_partner
from tests.integration.test_privacy import IDEMPOTENCY_TABLE
from tests.support.report_recount import recount, reported

# its module fixtures are made once: with `--dist loadgroup` (make test) the file's tests share a worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("test_stateful_chaos")]

PEOPLE = 3
ORGS = 2
EXAMPLES = int(os.environ.get("SOAK_EXAMPLES", "12"))
STEPS = int(os.environ.get("SOAK_STEPS", "20"))
LINE = {"kind": "ticket", "item_id": "ev", "quantity": 1, "unit_price": 100}


def test_every_flow_interleaved_under_chaos_keeps_the_invariants(chaos_runtime):
    Platform.runtime = chaos_runtime
    run_state_machine_as_test(
        Platform,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[phase for phase in Phase if phase is not Phase.explain],  # tracing runs out of memory
        ),
    )


@dataclass
class Ticket:
    """What the test knows of an entitlement: what its sale was typed with, and who must see it."""

    typed: list[tuple[str, str]]
    owner: int | None = None  # the person who proved, redeemed, bought or was attached to it
    order_id: str | None = None
    by_typing: bool = True  # it reaches a person by an identifier typed with it (disownable), not bought or redeemed
    kept: list[tuple[str, str]] | None = None  # what a disown may hand it on by: typed, less what an erasure forgot
    claimed_by: int | None = None
    erased: bool = False  # its person erased themselves
    after_erasure: int | None = None  # the first to prove one of its identifiers after that erasure


class Platform(RuleBasedStateMachine):
    runtime = None

    @initialize()
    def start(self):
        run = uuid.uuid4().hex[:8]
        self.orgs = [f"org-{run}-{n}" for n in range(ORGS)]
        self.email = [f"p{n}-{run}@example.com" for n in range(PEOPLE)]
        self.phone = [f"+4479111{(int(run, 16) + n) % 100000:05d}" for n in range(PEOPLE)]
        self.subject = [f"person-{run}-{n}" for n in range(PEOPLE)]
        self.signed_up: set[int] = set()
        self.holder: dict[tuple[str, str], int] = {}  # an identifier -> the person who proved it (and holds it)
        self.tickets: dict[str, Ticket] = {}
        self.claims: list[tuple[str, set[str]]] = []  # (claim id, its entitlements)
        self.tokens: dict[str, str] = {}  # claim id -> its link's token
        self.codes: list[tuple[str, str, set[str]]] = []  # (receipt code, profile, its entitlements) unredeemed
        self.orphans: list[tuple[str, str]] = []  # (org, profile) of anonymous sales
        self.forgotten: set[str] = set()  # what erased people had proved, not given to us again since
        self.partners = {org: register_partner(self.runtime, org) for org in self.orgs}

    # --- the model -------------------------------------------------------------------------------------------
    def sold(self, entitlement_ids, typed, order_id=None):
        """A sale typed with `typed` (in order): the person who proved the first of them that one proved."""
        owner = next((self.holder[i] for i in typed if i in self.holder), None)
        for entitlement_id in entitlement_ids:
            self.tickets[entitlement_id] = Ticket(typed=list(typed), owner=owner, order_id=order_id, kept=list(typed))

    def proved(self, person, identifiers):
        """`person` proved `identifiers`: those nobody held become theirs, and with them every ticket no proof
        reached yet that was typed with one of them."""
        taken = {i for i in identifiers if i not in self.holder}
        for identifier in taken:
            self.holder[identifier] = person
        for ticket in self.tickets.values():
            if not set(ticket.typed) & taken:
                continue
            if ticket.owner is None and not ticket.erased:
                ticket.owner = person
            elif ticket.erased and ticket.after_erasure is None:
                ticket.after_erasure = person

    def expected_viewers(self, ticket):
        """Whose history may show the ticket: one acceptable set, or two for an erasure that raced a proof."""
        if ticket.claimed_by is not None:
            return [{ticket.claimed_by}]
        if ticket.erased:
            return [set(), {ticket.after_erasure}] if ticket.after_erasure is not None else [set()]
        return [{ticket.owner}] if ticket.owner is not None else [set()]

    # --- the flows ------------------------------------------------------------------------------------------
    @rule(
        org=st.integers(0, ORGS - 1),
        typed=st.sampled_from(["email", "phone", "both", "card", "anonymous"]),
        person=st.integers(0, PEOPLE - 1),
        other=st.integers(0, PEOPLE - 1),
    )
    def window_sale(self, org, typed, person, other):
        customer = {
            "email": {"email": self.email[person]},
            "phone": {"phone": self.phone[person]},
            "both": {"email": self.email[person], "phone": self.phone[other]},
            "card": {"card_fingerprint": f"fp_{self.orgs[org]}_card"},
            "anonymous": {},
        }[typed]
        seller = self.runtime.token(org_id=self.orgs[org], roles=["pos"])
        body = {
            "currency": "EUR",
            "payment_method": "card" if typed == "card" else "cash",
            "lines": [LINE],
            "customer": customer,
        }
        answer = self.runtime.call(
            "POST",
            f"/v1/orgs/{self.orgs[org]}/pos/sales",
            seller,
            json_body=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code in (201, 503), answer.text
        if answer.status_code != 201:
            return
        sale = answer.json()
        self.forgotten -= {v for v in customer.values() if isinstance(v, str)}
        entitlements = {e["entitlement_id"] for e in sale["entitlements"]}
        typed_with = [(k, customer[k]) for k in ("email", "phone") if customer.get(k)]
        self.sold(entitlements, typed_with, sale["order"]["order_id"] if typed_with else None)
        if sale.get("receipt_code"):
            self.codes.append((sale["receipt_code"], sale["profile"]["profile_id"], entitlements))
        if typed == "anonymous":
            self.orphans.append((self.orgs[org], sale["profile"]["profile_id"]))

    @rule(person=st.integers(0, PEOPLE - 1), org=st.integers(0, ORGS - 1))
    def consumer_purchase(self, person, org):
        if person not in self.signed_up:
            return
        token = self.runtime.token(self.subject[person])
        answer = self.runtime.call(
            "POST",
            f"/v1/orgs/{self.orgs[org]}/orders",
            token,
            json_body={"currency": "EUR", "payment_method": "card", "lines": [LINE]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code in (201, 503), answer.text
        if answer.status_code == 201:
            for entitlement in answer.json()["entitlements"]:
                self.tickets[entitlement["entitlement_id"]] = Ticket(typed=[], owner=person, by_typing=False)

    @rule(org=st.integers(0, ORGS - 1), person=st.integers(0, PEOPLE - 1), with_phone=st.booleans())
    def reseller_order(self, org, person, with_phone):
        email = self.email[person]
        body = order(self.orgs[org], email)
        if with_phone:
            body["buyer"]["phone"] = self.phone[(person + 1) % PEOPLE]  # someone else's phone, typed along
        partner_id, secret = self.partners[self.orgs[org]]
        answer = deliver(self.runtime, partner_id, secret, body)
        assert answer.status_code in (201, 503), answer.text
        if answer.status_code != 201:
            return
        order_id, claim_id = answer.json()["order_id"], answer.json()["claim_id"]
        entitlements = {
            i["entitlement_id"] for i in self.scan() if i.get("type") == "entitlement" and i.get("order_id") == order_id
        }
        typed = [("email", email), *([("phone", body["buyer"]["phone"])] if with_phone else [])]
        self.forgotten -= {v for _, v in typed}
        self.sold(entitlements, typed, order_id)
        claim = self.runtime.wait_for(
            lambda: next(
                (
                    e
                    for e in self.runtime.published()
                    if e["detail-type"] == "ClaimNotificationRequested" and e["detail"]["claim_id"] == claim_id
                ),
                None,
            ),
            timeout=30,
        )
        self.claims.append((claim_id, entitlements))
        self.tokens[claim_id] = claim["detail"]["claim_url"].rsplit("/", 1)[-1]

    @rule(person=st.integers(0, PEOPLE - 1), which=st.sampled_from(["email", "phone", "both", "none"]))
    def sign_up(self, person, which):
        proved = {
            "email": [("email", self.email[person])],
            "phone": [("phone", self.phone[person])],
            "both": [("email", self.email[person]), ("phone", self.phone[person])],
            "none": [],
        }[which]
        token = self.runtime.token(
            self.subject[person],
            email=self.email[person],
            email_verified=("email", self.email[person]) in proved,
            phone_number=self.phone[person],
            phone_number_verified=("phone", self.phone[person]) in proved,
        )
        answer = self.runtime.call("PUT", "/v1/me", token)
        self.forgotten -= {self.email[person], self.phone[person]}  # in the token: given to us again
        assert answer.status_code in (200, 201, 503), answer.text
        if answer.status_code != 503:
            self.signed_up.add(person)
            self.proved(person, proved)

    @rule(person=st.integers(0, PEOPLE - 1), kind=st.sampled_from(["email", "phone"]))
    def release_identifier(self, person, kind):
        if person not in self.signed_up:
            return
        identifier = (kind, self.email[person] if kind == "email" else self.phone[person])
        token = self.runtime.token(self.subject[person])
        answer = self.runtime.call("DELETE", f"/v1/me/identifiers/{kind}/{quote(identifier[1])}", token)
        assert answer.status_code in (204, 404, 503), answer.text
        assert (answer.status_code == 404) == (self.holder.get(identifier) != person) or answer.status_code == 503
        if answer.status_code == 204:
            del self.holder[identifier]

    @rule(person=st.integers(0, PEOPLE - 1))
    def erase(self, person):
        if person not in self.signed_up:
            return
        answer = self.runtime.call("DELETE", "/v1/me", self.runtime.token(self.subject[person]))
        assert answer.status_code in (204, 503), answer.text
        if answer.status_code != 204:
            return
        self.signed_up.discard(person)
        theirs = {i for i, p in self.holder.items() if p == person}
        self.forgotten |= {value for _, value in theirs}
        self.holder = {i: p for i, p in self.holder.items() if p != person}
        for ticket in self.tickets.values():
            ticket.kept = [i for i in ticket.kept or [] if i not in theirs]  # forgotten by every sale made before
            if person in (ticket.owner, ticket.claimed_by):
                ticket.erased, ticket.owner, ticket.claimed_by = True, None, None

    @rule(person=st.integers(0, PEOPLE - 1), pick=st.integers(0, 50))
    def claim(self, person, pick):
        if person not in self.signed_up or not self.claims:
            return
        claim_id, _ = self.claims[pick % len(self.claims)]
        token = self.runtime.token(self.subject[person])
        answer = self.runtime.call("POST", f"/v1/claims/{self.tokens[claim_id]}", token)
        assert answer.status_code in (200, 410, 503), answer.text
        if answer.status_code == 200:
            for entitlement in answer.json()["entitlements"]:
                self.tickets[entitlement["entitlement_id"]].claimed_by = person

    @rule(person=st.integers(0, PEOPLE - 1), pick=st.integers(0, 50))
    def redeem(self, person, pick):
        if person not in self.signed_up or not self.codes:
            return
        code, profile_id, entitlements = self.codes[pick % len(self.codes)]
        answer = self.runtime.call("POST", f"/v1/receipts/{code}", self.runtime.token(self.subject[person]))
        assert answer.status_code in (200, 410, 429, 503), answer.text
        if answer.status_code == 200:
            self.codes.remove((code, profile_id, entitlements))
            for entitlement_id in entitlements:
                if self.tickets[entitlement_id].owner in (None, person):
                    self.tickets[entitlement_id].owner = person
                    self.tickets[entitlement_id].by_typing = False

    @rule(pick=st.integers(0, 50))
    def void(self, pick):
        entitlements = [i for i in self.scan() if i.get("type") == "entitlement" and i["org_id"] in self.orgs]
        if not entitlements:
            return
        item = entitlements[pick % len(entitlements)]
        admin = self.runtime.token(org_id=item["org_id"], roles=["admin"])
        answer = self.runtime.call(
            "POST",
            f"/v1/orgs/{item['org_id']}/profiles/{item['profile_id']}/entitlements/{item['entitlement_id']}/void",
            admin,
        )
        assert answer.status_code in (200, 404, 409, 503), answer.text  # 404: moved meanwhile

    @rule(pick=st.integers(0, 50), person=st.integers(0, PEOPLE - 1))
    def staff_attach(self, pick, person):
        if not self.orphans:
            return
        org, profile_id = self.orphans.pop(pick % len(self.orphans))
        admin = self.runtime.token(org_id=org, roles=["admin"])
        answer = self.runtime.call(
            "POST",
            f"/v1/orgs/{org}/profiles/{profile_id}/identifiers",
            admin,
            json_body={"version": 1, "email": self.email[person]},
        )
        assert answer.status_code in (200, 409, 503), answer.text
        self.forgotten.discard(self.email[person])
        if answer.status_code != 200:
            self.orphans.append((org, profile_id))
            return
        still_there = {
            i["entitlement_id"]
            for i in self.scan()
            if i.get("type") == "entitlement" and i["profile_id"] == profile_id and i["org_id"] == org
        }
        self.sold(still_there, [("email", self.email[person])])  # attached by the email: as if typed with it
        for entitlement_id in still_there:
            self.tickets[entitlement_id].by_typing = False  # its sale was anonymous: nothing typed to disown by
        self.codes = [c for c in self.codes if c[1] != profile_id]  # a code of a profile given away is 410

    @rule(person=st.integers(0, PEOPLE - 1), pick=st.integers(0, 50))
    def disown(self, person, pick):
        """The person says a sale that reached them by an identifier typed with it is not theirs: it goes on to
        whoever proved (or proves first) another identifier it was typed with, never back to them."""
        if person not in self.signed_up:
            return
        theirs = sorted(
            {
                t.order_id
                for t in self.tickets.values()
                if t.owner == person and t.by_typing and t.order_id and t.claimed_by is None and not t.erased
            }
        )
        if not theirs:
            return
        order_id = theirs[pick % len(theirs)]
        token = self.runtime.token(self.subject[person])
        body = {"reason": "not mine"}
        answer = self.runtime.call("POST", f"/v1/me/orders/{order_id}/disown", token, json_body=body)
        assert answer.status_code in (200, 404, 503), answer.text  # 404: its proof's effect has not run yet
        if answer.status_code != 200:
            return
        for ticket in (t for t in self.tickets.values() if t.order_id == order_id):
            left = [i for i in ticket.kept or [] if self.holder.get(i) != person]
            ticket.typed = ticket.kept = left
            ticket.owner = next((self.holder[i] for i in left if i in self.holder), None)

    @rule(pick=st.integers(0, 50))
    def org_erases_an_orphan(self, pick):
        """The org erases an anonymous customer: its code redeems nothing from then on (409 erased); what was
        redeemed from it already stays with the redeemer."""
        if not self.orphans:
            return
        org, profile_id = self.orphans[pick % len(self.orphans)]
        admin = self.runtime.token(org_id=org, roles=["admin"])
        answer = self.runtime.call("POST", f"/v1/orgs/{org}/profiles/{profile_id}/erase", admin)
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 200:
            self.orphans.remove((org, profile_id))
            self.codes = [c for c in self.codes if c[1] != profile_id]

    @rule()
    def redrive(self):
        self.redrive_all()  # racing the stream, something may legitimately still be pending: checked at the end

    # --- after quiescence ---------------------------------------------------------------------------------
    def teardown(self):
        if not hasattr(self, "orgs"):
            return
        self.runtime.wait_for(lambda: not self.pending(), timeout=60)
        assert self.redrive_all() == 0
        time.sleep(1)  # the indexes settle (chaos lags them a few hundred milliseconds, as DynamoDB's do)
        items = self.scan()
        profiles = {(i["org_id"], i["profile_id"]): i for i in items if i.get("type") == "profile"}
        children = [i for i in items if i.get("type") in ("order", "entitlement") and i["org_id"] in self.orgs]
        ids = Counter(i.get("entitlement_id") or i["order_id"] for i in children)
        assert [k for k, n in ids.items() if n > 1] == []  # nothing duplicated
        for child in children:  # exactly one live parent
            parent = profiles.get((child["org_id"], child["profile_id"]))
            assert parent and not parent.get("merged_into") and not parent.get("merging_into"), child
        entitlements = {i["entitlement_id"] for i in children if i["type"] == "entitlement"}
        assert entitlements == set(self.tickets)  # nothing lost, nothing made up
        for org_id in self.orgs:  # the identification report's counters equal a recount of the items
            self.report_settles(org_id)
        seen = {n: self.history(n) for n in self.signed_up}
        for entitlement_id, ticket in self.tickets.items():
            viewers = {n for n, held in seen.items() if entitlement_id in held}
            assert viewers in self.expected_viewers(ticket), (entitlement_id, ticket, viewers)
        everything = items + self.scan(IDEMPOTENCY_TABLE)
        left = [i for i in everything if any(v.lower() in json.dumps(i, default=str).lower() for v in self.forgotten)]
        assert left == [], (self.forgotten, left)  # an erased person's proved identifiers are nowhere
        now = datetime.now(UTC).isoformat()
        for claim in (i for i in items if i.get("type") == "claim" and i["org_id"] in self.orgs):
            assert claim["status"] in ("claimed", "cancelled") or claim["expires_at"] > now

    # --- helpers ---------------------------------------------------------------------------------------------
    def history(self, person):
        token = self.runtime.token(self.subject[person])
        found, cursor = set(), None
        while True:
            page = self.runtime.call(
                "GET", "/v1/me/history", token, params={"limit": 100, **({"cursor": cursor} if cursor else {})}
            ).json()
            found |= {e["entitlement"]["entitlement_id"] for e in page["entries"] if e["entitlement"]}
            if not (cursor := page.get("next_cursor")):
                return found

    def report_settles(self, org_id, timeout=30.0):
        """The report equals a recount of the items once the stream has carried the last records (the
        linker may still be tallying what the last steps wrote when no effect is pending any more)."""
        deadline = time.monotonic() + timeout
        while True:
            found, expected = self.reported(org_id), recount(self.scan(), org_id)
            if found == expected or time.monotonic() > deadline:
                assert found == expected, org_id
                return
            time.sleep(0.5)

    def reported(self, org_id):
        """The org's report by day, of yesterday and today (UTC), as the report's admin reads it."""
        admin = self.runtime.token(org_id=org_id, roles=["admin"])
        today = datetime.now(UTC).date()
        query = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
        answer = self.runtime.call("GET", f"/v1/orgs/{org_id}/reports/identification", admin, params=query)
        assert answer.status_code == 200, answer.text
        return reported(answer.json()["rows"])

    def scan(self, table_name=None):
        table = self.runtime.table() if table_name is None else self.resource().Table(table_name)
        items, arguments = [], {"ConsistentRead": True}
        while True:
            page = table.scan(**arguments)  # a test's view of everything, never a request path
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def resource(self):
        return boto3.resource(
            "dynamodb",
            endpoint_url=self.runtime.dynamodb_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def pending(self):
        """Every pending effect, from a consistent scan: the pending index lags under chaos, as in AWS."""
        return [i for i in self.scan() if str(i.get("pk", "")).startswith("PENDING#")]

    def redrive_all(self):
        return operator(
            ["--endpoint", self.runtime.dynamodb_endpoint, "redrive", "--state-dir", str(self.runtime.state_dir)]
        )
