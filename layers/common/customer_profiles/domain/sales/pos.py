"""Sales at the venue window: identifiers captured by staff find (or create) the customer's account.

With an email or phone: the user holding it, active or dormant; none -> a dormant user to activate later.
Without any: an orphaned profile (or the one a card fingerprint already points to). Everything a sale
writes goes in one transaction, so a crash or a lost race leaves nothing half-written.
"""

from __future__ import annotations

from dataclasses import dataclass

from customer_profiles.clock import utc_now
from customer_profiles.domain.idempotency import replayed, unkeyed
from customer_profiles.domain.privacy import consents
from customer_profiles.domain.sales.receipts import ReceiptKeys, new_receipt
from customer_profiles.domain.sales.sale_plan import Customer, PlannedSale, plan_sale
from customer_profiles.domain.staff.access import acting_staff, staff_actor
from customer_profiles.domain.staff.org_console import normalised_identifiers, org_views
from customer_profiles.errors import IdentifierRequired
from customer_profiles.models.activity import Actor
from customer_profiles.models.api import PosSaleRequest, PosSaleResponse
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    Proof,
)
from customer_profiles.models.principal import Principal
from customer_profiles.ports.sales import IdempotentRequest, PosSales
from customer_profiles.ports.staff import OrgRegions
from customer_profiles.retry import on_concurrent_write

SELLERS = frozenset({"pos"})


def create_pos_sale(
    store: PosSales,
    principal: Principal,
    org_id: str,
    request: PosSaleRequest,
    once: IdempotentRequest | None = None,
    *,
    receipt_code_days: int = 30,
    receipt_keys: ReceiptKeys | None = None,
) -> PosSaleResponse:
    """The sale, exactly once per Idempotency-Key. For a known customer: one read (the key's earlier answer
    and the identifiers' holders, together), the holder's profile from the by-user index (a candidate the
    transaction checks; a retry reads the table instead), and one transaction.

    A sale for nobody (no identifiers) answers a receipt code, valid `receipt_code_days`, that the customer
    redeems in the app to take the sale into their account; the table keeps only its hash (keyed with the
    first of `receipt_keys`, which such a sale needs), and the answer (which a retry with the same key replays
    for 24 hours) is the only place the code is ever shown."""
    store = acting_staff(store, principal, org_id, any_role=SELLERS)
    sale = WindowSale(
        org_id=org_id,
        request=request,
        customer=_captured_customer(store, org_id, request),
        said=consents.statements(
            request.consents or [], source="pos", actor_subject=principal.subject, actor_role="pos"
        ),
        once=once or unkeyed("create_pos_sale"),
        seller=staff_actor(principal, org_id, any_role=SELLERS),
        sold_by=principal.subject,
        receipt_code_days=receipt_code_days,
        receipt_keys=receipt_keys,
    )
    attempts = 0

    def attempt() -> PosSaleResponse:
        # A concurrent sale may have created the same dormant user or profile: each attempt reads again.
        nonlocal attempts
        attempts += 1
        return _sell_once(store, sale, index_candidate=attempts == 1)

    return on_concurrent_write(attempt, give_up="the sale kept conflicting with concurrent sales; retry")


@dataclass(frozen=True)
class WindowSale:
    """A window sale as staff asked for it: what each attempt at writing it decides on."""

    org_id: str
    request: PosSaleRequest
    customer: Customer
    said: list[ConsentStatement]  # what the customer said, as staff recorded it
    once: IdempotentRequest
    seller: Actor
    sold_by: str  # the till's subject
    receipt_code_days: int
    receipt_keys: ReceiptKeys | None  # the receipt-code keys (the current first): a sale for nobody needs them


def _captured_customer(store: OrgRegions, org_id: str, request: PosSaleRequest) -> Customer:
    captured = request.customer
    # A number in international form needs no default region: most sales skip reading the org's settings.
    phone = (captured.phone or "").strip()
    region = store.org_default_region(org_id) if phone and not phone.startswith("+") else None
    return Customer(
        identifiers=normalised_identifiers(
            captured.email, captured.phone, default_region=region, field_prefix="customer."
        ),
        given_name=captured.given_name,
        family_name=captured.family_name,
        id_document=captured.id_document,
        card_fingerprint=captured.card_fingerprint,
    )


def _sell_once(store: PosSales, sale: WindowSale, *, index_candidate: bool) -> PosSaleResponse:
    """One attempt: read (the key's earlier answer, the holders, an anonymous sale's capture policy), decide,
    write in one transaction; the answer as a retry with the same key will get it."""
    org_id, customer = sale.org_id, sale.customer
    # An anonymous sale is decided by the org's capture policy: read with the rest, checked at the write.
    anonymous = not customer.identifiers
    answered, holders, org_settings = store.answer_and_holders(
        sale.once, customer.identifiers, settings_of=org_id if anonymous else None
    )
    if answered:
        return PosSaleResponse.model_validate(replayed(answered, sale.once))
    policy = org_settings.pos_capture if org_settings else None
    if policy == "require":
        raise IdentifierRequired(
            "this org's capture policy (pos_capture: require) needs the customer's email or phone for every "
            "window sale; a card does not count",
            field="customer",
        )
    planned = plan_sale(
        store,
        org_id,
        customer,
        sale.request,
        payment_method=sale.request.payment_method,
        channel="pos",
        origin="pos",
        proof=Proof(provenance="staff_captured", at=utc_now(), org_id=org_id),
        holders=holders,
        index_candidate=index_candidate,
    )
    planned.write.changed_by = sale.seller
    planned.write.settings = org_settings
    planned.write.order = planned.write.order.model_copy(update={"sold_by": sale.sold_by})
    profile = planned.profile
    # Staff record what a customer said only for a profile no person holds: a person states their own.
    if not planned.holder_active:
        planned.write.consents = consents.newer_than_stored(
            store, profile, sale.said, new_profile=planned.profile_created
        )
    statuses = {profile.user_id: "active"} if planned.holder_active and profile.user_id else {}
    code = _receipt_code(planned, sale) if anonymous and profile.user_id is None else None
    answer = PosSaleResponse(
        profile=org_views(store, [profile], statuses=statuses)[0],
        order=planned.write.order,
        entitlements=planned.write.entitlements,
        profile_created=planned.profile_created,
        receipt_code=code,
        capture_suggested=True if anonymous and policy == "suggest" else None,
    )
    as_sent = answer.model_dump(mode="json")
    store.write_sale(planned.write, answer=(sale.once, as_sent))
    return PosSaleResponse.model_validate(as_sent)  # what a retry is answered, to the letter


def _receipt_code(planned: PlannedSale, sale: WindowSale) -> str:
    """A sale for nobody: its receipt (written with it, by the code's hash) and the code as printed."""
    if sale.receipt_keys is None:
        raise RuntimeError("a sale for nobody needs the receipt-code keys")
    code, planned.write.receipt = new_receipt(
        planned.write.order, planned.write.entitlements, expiry_days=sale.receipt_code_days, key=sale.receipt_keys()[0]
    )
    planned.write.order = planned.write.order.model_copy(update={"receipt_hash": planned.write.receipt[0]})
    return code
