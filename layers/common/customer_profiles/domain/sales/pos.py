"""Sales at the venue window: identifiers captured by staff find (or create) the customer's account.

With an email or phone: the user holding it, active or dormant; none -> a dormant user to activate later.
Without any: an orphaned profile (or the one a card fingerprint already points to). Everything a sale
writes goes in one transaction, so a crash or a lost race leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from customer_profiles.clock import new_id, utc_now
from customer_profiles.domain.idempotency import replayed, unkeyed
from customer_profiles.domain.identity.proofs import Placement, place_sale
from customer_profiles.domain.privacy import consents
from customer_profiles.domain.sales.orders import build_order
from customer_profiles.domain.sales.receipts import ReceiptKeys, new_receipt
from customer_profiles.domain.staff.access import acting_staff, staff_actor
from customer_profiles.domain.staff.org_console import normalised_identifiers, org_views
from customer_profiles.errors import IdentifierRequired
from customer_profiles.models.activity import Actor
from customer_profiles.models.api import OrderRequest, PartnerOrderRequest, PosSaleRequest, PosSaleResponse
from customer_profiles.models.consents import ConsentStatement
from customer_profiles.models.domain import (
    CapturedDetails,
    Entitlement,
    EntitlementStatus,
    Holding,
    IdDocument,
    Identifier,
    Order,
    OrderChannel,
    Profile,
    ProfileAttributes,
    ProfileOrigin,
    Proof,
    TypedIdentifier,
)
from customer_profiles.models.principal import Principal
from customer_profiles.ports.sales import IdempotentRequest, PosSales, SalePlanning, SaleWrite
from customer_profiles.ports.staff import OrgRegions
from customer_profiles.retry import on_concurrent_write

SELLERS = frozenset({"pos"})


@dataclass(frozen=True)
class Customer:
    """Who a sale is for, as captured: identifiers already normalised."""

    identifiers: list[Identifier]
    given_name: str | None = None
    family_name: str | None = None
    id_document: IdDocument | None = None
    card_fingerprint: str | None = None


@dataclass(frozen=True)
class PlannedSale:
    write: SaleWrite
    profile: Profile
    profile_created: bool
    holder_active: bool = False  # the profile's user has signed up (for the answer's linked_account)


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


def plan_sale(
    store: SalePlanning,
    org_id: str,
    customer: Customer,
    request: OrderRequest | PartnerOrderRequest,
    *,
    payment_method: str,
    channel: OrderChannel,
    origin: ProfileOrigin,
    proof: Proof,
    entitlement_status: EntitlementStatus = "active",
    holders: dict[Identifier, Holding] | None = None,
    index_candidate: bool = False,
) -> PlannedSale:
    """Everything a sale for this customer will write: the user, profile, card, order and entitlements.

    Identifiers are hints (`proof` says whose): they find the user holding them, or make a dormant one.
    A card is recorded only on anonymous sales, and a card alone finds only the anonymous profile it paid
    for before, never a person's, so a card never leads a sale to a user. `holders`: the identifiers'
    holders when already read. `index_candidate`: take the holder's profile from the by-user index (one
    read instead of two; the sale's transaction checks that it is live and the holder's, and a profile the
    index has not seen yet fails on its uniqueness item, so the retry reads the table).
    """
    now = utc_now()
    placement: Placement | None = None
    card = None if customer.identifiers else customer.card_fingerprint
    card_profile_id = store.profile_id_of_card(org_id, card) if card else None
    if customer.identifiers:
        holders = store.identifier_holders(customer.identifiers) if holders is None else holders
        placement = place_sale(customer.identifiers, holders, now)
        profile = _holder_profile(store, org_id, placement, index_candidate=index_candidate)
    else:
        profile = _card_profile(store, org_id, card_profile_id)
    holder_active = bool(placement and placement.holder_active)
    new_profile = None
    if profile is None:
        new_card = card if card and card_profile_id is None else None
        user_id = placement.user_id if placement else None
        profile = new_profile = _new_sale_profile(
            org_id, customer, origin, user_id=user_id, card=new_card, now=now, reached=holder_active
        )
    order, entitlements = build_order(
        request,
        payment_method,
        org_id=org_id,
        profile_id=profile.profile_id,
        channel=channel,
        entitlement_status=entitlement_status,
    )
    order = _typed(order, customer.identifiers, proof, reached=holder_active)
    holdings = {i: (holders or {}).get(i) for i in customer.identifiers}
    write = _sale_write(
        order, entitlements, profile, new_profile=new_profile, placement=placement, proof=proof, holdings=holdings
    )
    return PlannedSale(
        write=write, profile=profile, profile_created=new_profile is not None, holder_active=holder_active
    )


def _sale_write(
    order: Order,
    entitlements: list[Entitlement],
    profile: Profile,
    *,
    new_profile: Profile | None,
    placement: Placement | None,
    proof: Proof,
    holdings: dict[Identifier, Holding | None],
) -> SaleWrite:
    """What the sale writes, with every holding and status it was decided on as its conditions."""
    return SaleWrite(
        order=order,
        entitlements=entitlements,
        user_id=profile.user_id,
        new_user=placement.new_holder if placement else None,
        claimed_identifiers=placement.claimed if placement else [],
        proof=proof,
        new_profile=new_profile,
        holder_status=_holder_status(placement),
        holdings=holdings,
        pointers=list(placement.pointers) if placement else [],
    )


def _holder_profile(store: SalePlanning, org_id: str, placement: Placement, *, index_candidate: bool) -> Profile | None:
    """The profile in the org of the user the sale goes to (None: a new holder has none yet)."""
    if placement.new_holder:
        return None
    if index_candidate:
        return store.user_profile_candidate(placement.user_id, org_id)
    existing_id = store.profile_id_of_user_in_org(placement.user_id, org_id)
    return store.get_profile(org_id, existing_id) if existing_id else None


def _card_profile(store: SalePlanning, org_id: str, card_profile_id: str | None) -> Profile | None:
    """The anonymous profile the card paid for before, while nobody holds it (never a person's)."""
    paid_before = store.get_profile(org_id, card_profile_id) if card_profile_id else None
    if paid_before and not paid_before.user_id and not paid_before.merged_into:
        return paid_before
    return None


def _new_sale_profile(
    org_id: str,
    customer: Customer,
    origin: ProfileOrigin,
    *,
    user_id: str | None,
    card: str | None,
    now: str,
    reached: bool,
) -> Profile:
    """The profile a sale creates: what staff or the reseller captured, and the card it was paid with;
    `reached`: its holder is a person already, whom it reaches now."""
    captured = dict(customer.identifiers)
    return Profile(
        org_id=org_id,
        profile_id=new_id(),
        user_id=user_id,
        origin=origin,
        attributes=ProfileAttributes(given_name=customer.given_name, family_name=customer.family_name),
        captured=CapturedDetails(
            email=captured.get("email"), phone=captured.get("phone"), id_document=customer.id_document
        ),
        cards=[card] if card else [],
        created_at=now,
        updated_at=now,
        reached_at=now if reached else None,
    )


def _typed(order: Order, identifiers: Sequence[Identifier], proof: Proof, *, reached: bool) -> Order:
    """The order with the identifiers it was typed with (a proof of one may bring it to its person later);
    `reached`: its holder is a person already, whom it reaches as it is made."""
    provenance = "partner_asserted" if proof.provenance == "partner_asserted" else "staff_captured"
    return order.model_copy(
        update={
            "typed": [TypedIdentifier(kind=k, value=v, provenance=provenance) for k, v in identifiers],
            "reached_at": order.created_at if reached else None,
        }
    )


def _holder_status(placement: Placement | None) -> str | None:
    """The status the sale's existing holder must still have when it commits (None: no existing holder)."""
    if placement is None or placement.new_holder:
        return None
    return "active" if placement.holder_active else "dormant"
