from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="JWKPublicKey")


@_attrs_define
class JWKPublicKey:
    """A P-256 public key as a JSON Web Key (RFC 7517), with Plaid's creation and expiry times.

    Attributes:
        alg (str): Always `ES256`. Reject any other algorithm.
        crv (str): The curve, `P-256`.
        kid (str): The key id.
        kty (str): The key type, `EC`.
        use (str): The key use, `sig`.
        x (str): The base64url x coordinate.
        y (str): The base64url y coordinate.
        created_at (int): When the key was created, in seconds since the Unix epoch.
        expired_at (int | None): When the key expired, in seconds since the Unix epoch, or null while it is current.
    """

    alg: str
    crv: str
    kid: str
    kty: str
    use: str
    x: str
    y: str
    created_at: int
    expired_at: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        alg = self.alg

        crv = self.crv

        kid = self.kid

        kty = self.kty

        use = self.use

        x = self.x

        y = self.y

        created_at = self.created_at

        expired_at: int | None
        expired_at = self.expired_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "alg": alg,
                "crv": crv,
                "kid": kid,
                "kty": kty,
                "use": use,
                "x": x,
                "y": y,
                "created_at": created_at,
                "expired_at": expired_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        alg = d.pop("alg")

        crv = d.pop("crv")

        kid = d.pop("kid")

        kty = d.pop("kty")

        use = d.pop("use")

        x = d.pop("x")

        y = d.pop("y")

        created_at = d.pop("created_at")

        def _parse_expired_at(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        expired_at = _parse_expired_at(d.pop("expired_at"))

        jwk_public_key = cls(
            alg=alg,
            crv=crv,
            kid=kid,
            kty=kty,
            use=use,
            x=x,
            y=y,
            created_at=created_at,
            expired_at=expired_at,
        )

        jwk_public_key.additional_properties = d
        return jwk_public_key

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
