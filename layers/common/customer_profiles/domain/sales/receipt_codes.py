"""Receipt codes: short, printable, human-typable proofs of an anonymous sale.

12 symbols of Crockford base32 (60 random bits from `secrets`) in groups of four, then Crockford's mod-37
check symbol: `XXXX-XXXX-XXXX-C`. Typing is forgiving (case, hyphens and spaces ignored; I and L read as 1,
O as 0), and a single mistyped symbol is caught by the check before anything is read.

Hand-written rather than a dependency: the reference package (`base32-crockford`) has had no release since
2015 and carries no types, and the newer ones are young single-author packages; the scheme is a few lines
and the property tests pin it (tests/unit/test_receipts.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from customer_profiles.errors import InvalidInput, ReceiptCodeMistyped

SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's 32: no I, L, O, U
CHECK_SYMBOLS = SYMBOLS + "*~$=U"  # the check symbol takes 37 values
CODE_SYMBOLS = 12  # 60 bits: at 10 guesses per user per 15 minutes, nobody finds one by chance
GROUP = 4
MAX_TYPED_LENGTH = 64  # what a person may type, hyphens and spaces included; longer is not a receipt code
_READS_AS = {"I": "1", "L": "1", "O": "0"}
_VALUE = {s: v for v, s in enumerate(CHECK_SYMBOLS)}


def check_symbol(symbols: str) -> str:
    """Crockford's check symbol: the value the symbols encode, modulo 37."""
    value = 0
    for symbol in symbols:
        value = value * 32 + _VALUE[symbol]
    return CHECK_SYMBOLS[value % 37]


def new_receipt_code() -> str:
    """A fresh code, as printed: `XXXX-XXXX-XXXX-C`."""
    symbols = "".join(secrets.choice(SYMBOLS) for _ in range(CODE_SYMBOLS))
    return formatted(symbols + check_symbol(symbols))


def formatted(normalised: str) -> str:
    body, check = normalised[:CODE_SYMBOLS], normalised[CODE_SYMBOLS:]
    return "-".join([*(body[i : i + GROUP] for i in range(0, CODE_SYMBOLS, GROUP)), check])


def normalised(typed: str) -> str:
    """The code as typed, in its one canonical form (13 symbols, upper case, no separators).

    422 (`field` code) when it cannot be a receipt code, and a distinct 422 when its check symbol does not
    match: the code was mistyped."""
    if len(typed) > MAX_TYPED_LENGTH:
        raise InvalidInput("this is not a receipt code", field="code")
    compact = "".join(_READS_AS.get(c, c) for c in typed.upper() if c not in "- ")
    body, check = compact[:CODE_SYMBOLS], compact[CODE_SYMBOLS:]
    if len(compact) != CODE_SYMBOLS + 1 or any(c not in SYMBOLS for c in body) or check not in CHECK_SYMBOLS:
        raise InvalidInput("this is not a receipt code: 12 letters and digits and a check symbol", field="code")
    if check_symbol(body) != check:
        raise ReceiptCodeMistyped("the receipt code was mistyped: check it and type it again", field="code")
    return compact


def code_hash(normalised_code: str, key: bytes) -> str:
    """What the table keeps of a code: its HMAC-SHA256 with a server key, so the code never sits in the
    table, its backups or its stream, and none of them can be searched for codes without the key (which
    only the API functions read, from Secrets Manager). Rotated keys: docs/decisions.md, receipt codes."""
    return hmac.new(key, f"receipt:{normalised_code}".encode(), hashlib.sha256).hexdigest()
