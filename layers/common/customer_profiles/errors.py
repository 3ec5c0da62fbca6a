"""Domain exceptions. Each names a condition; `customer_profiles.http` maps them to HTTP in one place."""


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


class Conflict(DomainError):
    """A concurrent or stale write lost: nothing was changed; re-read and retry."""

    code = "conflict"


class InvalidInput(DomainError):
    """Input that is well-formed JSON but not acceptable (an invalid email, phone...)."""

    code = "invalid_input"


class MissingIdempotencyKey(DomainError):
    """The route requires an Idempotency-Key header."""

    code = "missing_idempotency_key"


class Unauthenticated(DomainError):
    """The request does not prove who sent it (a webhook's missing, stale or wrong signature)."""

    code = "invalid_signature"


class Gone(DomainError):
    """The resource existed but can no longer be used (a used or expired claim)."""

    code = "gone"


class TryAgain(DomainError):
    """A transient condition (concurrent work kept winning): the same request can succeed later."""

    code = "try_again"
