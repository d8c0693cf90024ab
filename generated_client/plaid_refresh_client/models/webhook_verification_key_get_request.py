from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookVerificationKeyGetRequest")


@_attrs_define
class WebhookVerificationKeyGetRequest:
    """The body of /webhook_verification_key/get.

    Attributes:
        key_id (str): The `kid` from the header of a webhook's Plaid-Verification JWT.
        client_id (str | Unset): Your Plaid client_id. Required, either here or in the PLAID-CLIENT-ID header. This
            project's
            client always sends it as a header.
        secret (str | Unset): Your Plaid secret. Required, either here or in the PLAID-SECRET header. This project's
            client
            always sends it as a header.
    """

    key_id: str
    client_id: str | Unset = UNSET
    secret: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        key_id = self.key_id

        client_id = self.client_id

        secret = self.secret

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "key_id": key_id,
            }
        )
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if secret is not UNSET:
            field_dict["secret"] = secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        key_id = d.pop("key_id")

        client_id = d.pop("client_id", UNSET)

        secret = d.pop("secret", UNSET)

        webhook_verification_key_get_request = cls(
            key_id=key_id,
            client_id=client_id,
            secret=secret,
        )

        return webhook_verification_key_get_request
