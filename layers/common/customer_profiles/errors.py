"""Domain exceptions. Each names a condition; `customer_profiles.edge.http` maps them to HTTP in one place."""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it does (the same answer either way)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller is known but this kind of caller may not use the operation."""

    code = "forbidden"


class IdTokenRequired(Forbidden):
    """The operation reads the person's identifiers, which only an ID token carries."""

    code = "id_token_required"


class Conflict(DomainError):
    """The request conflicts with the resource's state: nothing was changed."""

    code = "conflict"


class StateConflict(Conflict):
    """Permanent: the resource's state refuses this request (a stale version, a slot already taken);
    the same request will never succeed, so it is never retried and the client is not told to retry."""


class UserGone(Conflict):
    """The user a request acts for is no longer an active user (erased, merged): the authorizer's cached
    answer named it. The domain reads the token's user again; a write never lands on a ghost."""

    code = "user_gone"


class Erased(StateConflict):
    """The profile was erased: it only parents what the org sold, and takes nothing new."""

    code = "erased"


class BoughtByYou(StateConflict):
    """An order the person came by themselves (a purchase, a claim accepted, a code redeemed): not disownable."""

    code = "bought_by_you"


class NotMerged(StateConflict):
    """An unmerge of a profile that is not merged into another (never was, or its unmerge is done)."""

    code = "not_merged"


class LineageExpired(StateConflict):
    """The move to undo is past its retention time (LINEAGE_RETENTION_DAYS): nothing says where it came from."""

    code = "lineage_expired"


class NotLinked(StateConflict):
    """A profile no typed or captured identifier linked to its user (or that has none): nothing to unlink."""

    code = "not_linked"


class ConsentIsThePersons(StateConflict):
    """Staff (or a reseller) relay consent only for a customer no person's account holds: a person states their
    own."""

    code = "consent_is_the_persons"


class ConcurrentWrite(Conflict):
    """Retryable: a concurrent write won (a failed guard, a transaction conflict, throttling); nothing was
    written, and the same operation may succeed once it reads again. `retry.on_concurrent_write` retries it."""

    code = "concurrent_write"


class InvalidInput(DomainError):
    """Input that is well-formed JSON but not acceptable (an invalid email, phone...)."""

    code = "invalid_input"


class ReceiptCodeMistyped(InvalidInput):
    """A receipt code whose check symbol does not match: a typo, caught before anything is read."""

    code = "receipt_code_mistyped"


class IdentifierRequired(InvalidInput):
    """The org's capture policy requires an email or phone for every window sale."""

    code = "identifier_required"


class IdempotencyKeyReused(InvalidInput):
    """An Idempotency-Key already answered a request with another payload."""

    code = "idempotency_key_reused"


class MissingIdempotencyKey(DomainError):
    """The route requires an Idempotency-Key header."""

    code = "missing_idempotency_key"


class Unauthenticated(DomainError):
    """The request does not prove who sent it (a webhook's missing, stale or wrong signature)."""

    code = "invalid_signature"


class Gone(DomainError):
    """The resource existed but can no longer be used (a used or expired claim)."""

    code = "gone"


class Throttled(DomainError):
    """DynamoDB (or a limit of ours) refused the load: the client should slow down and retry after a while."""

    code = "throttled"
    retry_after_seconds = 1


class TooManyAttempts(Throttled):
    """A limit of ours on failed attempts (receipt codes): 429 until the window ends."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class TryAgain(DomainError):
    """A transient condition (concurrent work kept winning): the same request can succeed later."""

    code = "try_again"
