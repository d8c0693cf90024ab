from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.jwk_public_key import JWKPublicKey


T = TypeVar("T", bound="WebhookVerificationKeyGetResponse")


@_attrs_define
class WebhookVerificationKeyGetResponse:
    """The public key for the key id. Plaid may add fields at any time.

    Attributes:
        key (JWKPublicKey): A P-256 public key as a JSON Web Key (RFC 7517), with Plaid's creation and expiry times.
        request_id (str): An opaque, case-sensitive identifier of the request (15 alphanumeric characters in examples).
            Quote it to Plaid support.
    """

    key: JWKPublicKey
    request_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        key = self.key.to_dict()

        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "key": key,
                "request_id": request_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.jwk_public_key import JWKPublicKey  # noqa: PLC0415

        d = dict(src_dict)
        key = JWKPublicKey.from_dict(d.pop("key"))

        request_id = d.pop("request_id")

        webhook_verification_key_get_response = cls(
            key=key,
            request_id=request_id,
        )

        webhook_verification_key_get_response.additional_properties = d
        return webhook_verification_key_get_response

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
