"""Keys of users, subjects, identifiers (held, typed with a sale, captured as hints) and app clients."""

from __future__ import annotations

from customer_profiles.data.keys.base import USER_PREFIX, Key
from customer_profiles.data.keys.profiles import ORDER_SK_PREFIX
from customer_profiles.models.domain import Identifier

SUBJECT_PREFIX = "SUBJECT#"
IDENTIFIER_PREFIX = "IDENT#"
APP_CLIENT_PREFIX = "APPCLIENT#"
TYPED_PREFIX = "TYPED#"
HINT_PREFIX = "HINT#"
HELD_IDENTIFIER_PREFIX = "IDENT#"
USER_SK = "USER"
SUBJECT_SK = "SUBJECT"
IDENTIFIER_SK = "IDENT"
APP_CLIENT_SK = "APPCLIENT"
# Lineage: a dormant user merged into this user, in the person's partition.
MERGED_USER_SK_PREFIX = "MERGED#"
HINT_SK_PREFIX = "PROFILE#"


def user_key(user_id: str) -> Key:
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": USER_SK}


def subject_key(subject: str) -> Key:
    return {"pk": f"{SUBJECT_PREFIX}{subject}", "sk": SUBJECT_SK}


def identifier_key(identifier: Identifier) -> Key:
    kind, value = identifier
    return {"pk": f"{IDENTIFIER_PREFIX}{kind}#{value}", "sk": IDENTIFIER_SK}


def held_identifier_key(user_id: str, identifier: Identifier) -> Key:
    """An identifier in its holder's own partition: one strongly consistent Query lists all a user holds
    (`GET /v1/me/identifiers`, erasure), whatever the user item shows."""
    kind, value = identifier
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": f"{HELD_IDENTIFIER_PREFIX}{kind}#{value}"}


def typed_pk(identifier: Identifier) -> str:
    kind, value = identifier
    return f"{TYPED_PREFIX}{kind}#{value}"


def typed_sale_key(identifier: Identifier, org_id: str, order_id: str) -> Key:
    """A sale typed with `identifier` that a dormant holder of another of its identifiers has: whoever proves
    `identifier` first finds it here (one strongly consistent Query of the identifier's partition)."""
    return {"pk": typed_pk(identifier), "sk": f"{ORDER_SK_PREFIX}{org_id}#{order_id}"}


def hint_pk(identifier: Identifier) -> str:
    kind, value = identifier
    return f"{HINT_PREFIX}{kind}#{value}"


def hint_key(identifier: Identifier, org_id: str, profile_id: str) -> Key:
    """A profile (of any user, or none) on which staff or a reseller captured `identifier`: an erasure of
    whoever proved it finds every such copy with one strongly consistent Query, never through an index."""
    return {"pk": hint_pk(identifier), "sk": f"{HINT_SK_PREFIX}{org_id}#{profile_id}"}


def merged_user_key(user_id: str, merged_user_id: str) -> Key:
    """A dormant holder folded into `user_id`: the person's lineage, read when they are erased."""
    return {"pk": f"{USER_PREFIX}{user_id}", "sk": f"{MERGED_USER_SK_PREFIX}{merged_user_id}"}


def app_client_key(client_id: str) -> Key:
    return {"pk": f"{APP_CLIENT_PREFIX}{client_id}", "sk": APP_CLIENT_SK}
