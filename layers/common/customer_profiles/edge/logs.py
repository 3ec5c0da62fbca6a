"""Logs without personal data: every function's Logger writes through `MaskingFormatter`.

Emails, phones, names, birth dates, pictures, ID digits, card fingerprints, tokens, claim links, receipt codes,
webhook secrets and the keys made of them (identifiers, card pointers, receipts' hashes) never appear in clear
in a log line, whatever logs them: our own messages, an exception's text and traceback, or the whole event
when an operator turns on POWERTOOLS_LOGGER_LOG_EVENT.

Written by hand, on Powertools' own formatter: Powertools' data masking utility erases fields at paths known
in advance, but a traceback or a stream record is free text and nested shapes, so masking here goes by
field name at any depth (also inside JSON held in a string, such as an API Gateway body), by pattern in
every string (emails, phones, tokens...), and by value: what the current request or record holds under a
personal field (a name has no pattern) is remembered at its start and masked wherever it shows up.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# Powertools warns on every invocation that adds no metric; most of our routes add none, by design.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

MASK = "*****"
# Field names whose values are personal or secret, at any depth (compared lower-cased).
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "emails",
        "other_emails",
        "phone",
        "phones",
        "other_phones",
        "phone_number",
        "given_name",
        "family_name",
        "name",
        "display_name",
        "birth_date",
        "birthdate",
        "picture",
        "picture_url",
        "image_url",
        "last_digits",
        "id_document",
        "authorization",
        "token",
        "claim_url",
        "receipt_code",
        "card_fingerprint",
        "cards",  # a profile's card fingerprints
        "webhook-signature",
        "gsi2sk",  # a search entry's sort key is the searched email, phone or name
    }
)
PERSONAL_PREFIXES = ("claim_",)  # the principal's OpenID Connect profile claims (claim_given_name...)
# Path parameters that are secrets: a claim link's token, a receipt code (as typed: no pattern finds every form).
SECRET_PATH_PARAMETERS = frozenset({"token", "code"})
PATH_PARAMETERS = "pathparameters"  # an API Gateway event's, compared lower-cased
PATTERNS = [
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"), MASK),  # email addresses
    (re.compile(r"\+\d[\d\s()-]{6,18}\d"), MASK),  # international phone numbers
    (re.compile(r"(?<![\w.:-])0\d{9,10}(?![\w.:-])"), MASK),  # national ones (07911123456)
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), MASK),  # JWTs
    (re.compile(r"(?i)(bearer\s+)\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), MASK),  # webhook signing secrets
    (re.compile(r"(v1,)[A-Za-z0-9+/=]{20,}"), rf"\g<1>{MASK}"),  # webhook signatures
    (re.compile(r"(/claims?/)[A-Za-z0-9_-]{40,}"), rf"\g<1>{MASK}"),  # claim tokens in paths and links
    (re.compile(r"(?<![\w-])[A-Za-z0-9_-]{43}(?![\w-])"), MASK),  # a claim token anywhere (256 bits, base64url)
    (re.compile(r"(/receipts/)[^/?#\s\"']+"), rf"\g<1>{MASK}"),  # a receipt code in a path, however typed
    # a receipt code as printed or typed with hyphens (XXXX-XXXX-XXXX-C, any case)
    (re.compile(r"(?i)(?<![\w-])[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=](?![\w-])"), MASK),
    # keys that hold what a person gave or a code leads to: search entries, identifiers, claims' recipients,
    # card pointers, receipt codes' hashes (the kind stays: an operator sees which key it was)
    (re.compile(r"(SEARCH#(?:name|email|phone)#)[^\"'\]}]*"), rf"\g<1>{MASK}"),
    (re.compile(r"((?:IDENT|CLAIMS_TO|HINT|TYPED)#[a-z_]+#)[^\s\"'\]},]+"), rf"\g<1>{MASK}"),
    (re.compile(r"((?:CARD|RECEIPT)#)[^\s\"'\]},#]+"), rf"\g<1>{MASK}"),
]


MIN_REMEMBERED_LENGTH = 3  # shorter values would mask innocent text
_remembered: set[str] = set()


def forget_personal() -> None:
    """At the start of each request or record: the previous one's values are not this one's."""
    _remembered.clear()


def remember_personal(value: Any) -> None:
    """Remember the values held under personal fields anywhere in `value` (a request body, a stream image,
    a principal's context), to mask them in free text too."""
    if isinstance(value, dict):
        for key, item in value.items():
            if _personal(key):
                _remember_all(item)
            elif str(key).lower() == PATH_PARAMETERS and isinstance(item, dict):
                _remember_all([v for k, v in item.items() if str(k).lower() in SECRET_PATH_PARAMETERS])
            else:
                remember_personal(item)
    elif isinstance(value, list | tuple):
        for item in value:
            remember_personal(item)
    elif isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            remember_personal(json.loads(value))


def _remember_all(value: Any) -> None:
    if isinstance(value, str) and len(value.strip()) >= MIN_REMEMBERED_LENGTH:
        _remembered.add(value.strip())
    elif isinstance(value, dict):
        for item in value.values():
            _remember_all(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _remember_all(item)


@lru_cache(maxsize=8)
def _remembered_pattern(values: frozenset[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)), re.IGNORECASE)


def mask(value: Any) -> Any:
    """`value` with every personal field's value and every personal pattern replaced by MASK."""
    if isinstance(value, dict):
        return {key: MASK if _personal(key) else _mask_under(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask(item) for item in value]
    if isinstance(value, str):
        return _mask_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _mask_text(str(value))  # an exception in a stack trace, a Decimal...: logged as its text anyway


def _mask_under(key: Any, item: Any) -> Any:
    if str(key).lower() == PATH_PARAMETERS and isinstance(item, dict):
        return {k: MASK if str(k).lower() in SECRET_PATH_PARAMETERS else mask(v) for k, v in item.items()}
    return mask(item)


def _personal(key: Any) -> bool:
    name = str(key).lower()
    return name in PERSONAL_FIELDS or name.startswith(PERSONAL_PREFIXES)


def _mask_text(text: str) -> str:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):  # JSON in a string (a request body): mask it by field too
        try:
            return json.dumps(mask(json.loads(stripped)), separators=(",", ":"))
        except ValueError:
            pass
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    if _remembered:
        text = _remembered_pattern(frozenset(_remembered)).sub(MASK, text)
    return text


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        return super().serialize(mask(dict(log)))


def masked_logger() -> Logger:
    """The Logger every module uses. Loggers of one service share one handler, set up by the first created:
    creating every one here makes sure that handler masks."""
    return Logger(logger_formatter=MaskingFormatter())
