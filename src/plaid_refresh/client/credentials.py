"""Credentials as values that cannot be printed by accident."""

from __future__ import annotations

from plaid_refresh.client.errors import PlaidConfigurationError
from plaid_refresh.redaction import MIN_CREDENTIAL_CHARS, REDACTED


class Secret:
    """A string that shows as [REDACTED] in repr(), str() and f-strings; read it with `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would copy the secret into caches/queues silently; refuse it.
        raise TypeError("Secret values cannot be pickled")


def _header_safe(name: str, value: str) -> None:
    """HTTP header values must be printable ASCII; httpx's own error would quote the value."""
    if not value:
        raise PlaidConfigurationError(f"{name} is empty")
    if not all(" " <= ch <= "~" for ch in value):
        raise PlaidConfigurationError(
            f"{name} must be printable ASCII (it is sent as an HTTP header); the value is not shown"
        )
    if value != value.strip():
        raise PlaidConfigurationError(f"{name} has leading or trailing whitespace; the value is not shown")
    if len(value) < MIN_CREDENTIAL_CHARS:
        # A short value occurs by chance in ordinary text: it could not be masked in errors and logs
        # without corrupting them (docs/client.md, "Secrets and logging").
        raise PlaidConfigurationError(
            f"{name} is shorter than {MIN_CREDENTIAL_CHARS} characters (Plaid's are 24 and more); "
            "the value is not shown"
        )


class Credentials:
    """client_id and secret, validated once and sent only as PLAID-CLIENT-ID / PLAID-SECRET headers."""

    __slots__ = ("__weakref__", "client_id", "secret")

    def __init__(self, client_id: str | Secret, secret: str | Secret) -> None:
        for name, value in (("client_id", client_id), ("secret", secret)):
            if not isinstance(value, (str, Secret)):
                raise PlaidConfigurationError(f"{name} must be a str, not {type(value).__name__}")
        self.client_id = Secret(client_id)
        self.secret = Secret(secret)
        _header_safe("client_id", self.client_id.reveal())
        _header_safe("secret", self.secret.reveal())

    def headers(self) -> dict[str, str]:
        return {"PLAID-CLIENT-ID": self.client_id.reveal(), "PLAID-SECRET": self.secret.reveal()}

    def values(self) -> tuple[str, str]:
        return (self.client_id.reveal(), self.secret.reveal())

    def __repr__(self) -> str:
        return f"Credentials(client_id={REDACTED}, secret={REDACTED})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Credentials cannot be pickled")
