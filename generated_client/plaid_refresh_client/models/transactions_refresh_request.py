from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TransactionsRefreshRequest")


@_attrs_define
class TransactionsRefreshRequest:
    """The body of /transactions/refresh. Fields not listed here are rejected with UNKNOWN_FIELDS.

    Attributes:
        access_token (str): The access token of the Item to refresh, such as `access-sandbox-<uuid>`. A token of
            another environment is rejected with INVALID_ACCESS_TOKEN.
        client_id (str | Unset): Your Plaid client_id. Required, either here or in the PLAID-CLIENT-ID header. This
            project's
            client always sends it as a header.
        secret (str | Unset): Your Plaid secret. Required, either here or in the PLAID-SECRET header. This project's
            client
            always sends it as a header.
    """

    access_token: str
    client_id: str | Unset = UNSET
    secret: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        client_id = self.client_id

        secret = self.secret

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "access_token": access_token,
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
        access_token = d.pop("access_token")

        client_id = d.pop("client_id", UNSET)

        secret = d.pop("secret", UNSET)

        transactions_refresh_request = cls(
            access_token=access_token,
            client_id=client_id,
            secret=secret,
        )

        return transactions_refresh_request
