"""Normalising the ways we recognise a person: email (email-validator) and phone (phonenumberslite, E.164)."""

from __future__ import annotations

import unicodedata
from typing import Literal

from customer_profiles.errors import InvalidInput

# email-validator and phonenumbers are imported where they parse: most requests never parse an identifier,
# and every function imports this module (bench/run.py measures the import).

IdentifierKind = Literal["email", "phone", "card"]
MAX_EMAIL_LENGTH = 254


def normalise_email(raw: str, *, field: str = "email") -> str:
    """The address as one identifier: email-validator's normal form (NFC, IDNA domain), lower-cased.

    Lower-casing alone would fold look-alikes into other people's addresses: "\u212aate@example.com" (Kelvin
    sign, which even NFC turns into K) lowers to "kate@example.com". So an address that NFKC would change
    (compatibility characters: Kelvin sign, full-width letters, ligatures, superscripts; text not in NFC)
    is refused rather than folded; any other Unicode address stays as the person wrote it, but for case.
    """
    if len(raw) > MAX_EMAIL_LENGTH:
        raise InvalidInput("email address is too long", field=field)
    if unicodedata.normalize("NFKC", raw) != raw:
        raise InvalidInput("the email address has compatibility characters (look-alikes)", field=field)
    from email_validator import EmailNotValidError, validate_email

    try:
        normalised = validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidInput(f"not a valid email address: {error}", field=field) from error
    # Mailboxes are case-insensitive in practice; one person must not become two identifiers.
    return normalised.lower()


def normalise_phone(raw: str, *, default_region: str | None = None, field: str = "phone") -> str:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(f"not a valid phone number: {error}", field=field) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a valid phone number", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def verified_identifiers(email: str | None, phone: str | None) -> list[tuple[IdentifierKind, str]]:
    """The identity provider's verified claims, normalised; a claim that does not normalise is ignored."""
    found: list[tuple[IdentifierKind, str]] = []
    for kind, raw, normalise in (("email", email, normalise_email), ("phone", phone, normalise_phone)):
        if raw:
            try:
                found.append((kind, normalise(raw)))  # type: ignore[arg-type]
            except InvalidInput:
                continue
    return found


def identifier_of(kind: str, value: str) -> tuple[IdentifierKind, str]:
    """An email or phone named in a path, normalised as it is held (an E.164 phone: `+447700900123`)."""
    if kind == "email":
        return "email", normalise_email(value, field="value")
    if kind == "phone":
        return "phone", normalise_phone(value, field="value")
    raise InvalidInput("kind: email or phone", field="kind")
