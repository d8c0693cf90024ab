from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transactions_removed_webhook_webhook_code import (
    TransactionsRemovedWebhookWebhookCode,
)
from ..models.webhook_environment import WebhookEnvironment
from ..models.webhook_type import WebhookType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.plaid_error import PlaidError


T = TypeVar("T", bound="TransactionsRemovedWebhook")


@_attrs_define
class TransactionsRemovedWebhook:
    """Transactions were removed. Plaid may add fields.

    Attributes:
        webhook_type (WebhookType): The webhook family.
        webhook_code (TransactionsRemovedWebhookWebhookCode): Always TRANSACTIONS_REMOVED.
        item_id (str): The id of the Item the webhook is about.
        removed_transactions (list[str]): The ids of the removed transactions, with no bound on their number.
        environment (WebhookEnvironment): The Plaid environment of the Item.
        error (None | PlaidError | Unset): An error with the Item, or null. Plaid may leave the key out.
    """

    webhook_type: WebhookType
    webhook_code: TransactionsRemovedWebhookWebhookCode
    item_id: str
    removed_transactions: list[str]
    environment: WebhookEnvironment
    error: None | PlaidError | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.plaid_error import PlaidError  # noqa: PLC0415

        webhook_type = self.webhook_type.value

        webhook_code = self.webhook_code.value

        item_id = self.item_id

        removed_transactions = self.removed_transactions

        environment = self.environment.value

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, PlaidError):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "webhook_type": webhook_type,
                "webhook_code": webhook_code,
                "item_id": item_id,
                "removed_transactions": removed_transactions,
                "environment": environment,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.plaid_error import PlaidError  # noqa: PLC0415

        d = dict(src_dict)
        webhook_type = WebhookType(d.pop("webhook_type"))

        webhook_code = TransactionsRemovedWebhookWebhookCode(d.pop("webhook_code"))

        item_id = d.pop("item_id")

        removed_transactions = cast(list[str], d.pop("removed_transactions"))

        environment = WebhookEnvironment(d.pop("environment"))

        def _parse_error(data: object) -> None | PlaidError | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = PlaidError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PlaidError | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        transactions_removed_webhook = cls(
            webhook_type=webhook_type,
            webhook_code=webhook_code,
            item_id=item_id,
            removed_transactions=removed_transactions,
            environment=environment,
            error=error,
        )

        transactions_removed_webhook.additional_properties = d
        return transactions_removed_webhook

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
