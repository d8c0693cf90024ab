from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.sync_updates_available_webhook_webhook_code import (
    SyncUpdatesAvailableWebhookWebhookCode,
)
from ..models.webhook_environment import WebhookEnvironment
from ..models.webhook_type import WebhookType
from ..types import UNSET, Unset

T = TypeVar("T", bound="SyncUpdatesAvailableWebhook")


@_attrs_define
class SyncUpdatesAvailableWebhook:
    """Transactions were added, modified or removed; call /transactions/sync. Plaid may add fields.

    Attributes:
        webhook_type (WebhookType): The webhook family.
        webhook_code (SyncUpdatesAvailableWebhookWebhookCode): Always SYNC_UPDATES_AVAILABLE.
        item_id (str): The id of the Item the webhook is about.
        initial_update_complete (bool): Whether the first 30 days of transactions are available.
        historical_update_complete (bool): Whether all available history is available.
        environment (WebhookEnvironment): The Plaid environment of the Item.
        user_id (str | Unset): The user id, for Items created with a user.
    """

    webhook_type: WebhookType
    webhook_code: SyncUpdatesAvailableWebhookWebhookCode
    item_id: str
    initial_update_complete: bool
    historical_update_complete: bool
    environment: WebhookEnvironment
    user_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        webhook_type = self.webhook_type.value

        webhook_code = self.webhook_code.value

        item_id = self.item_id

        initial_update_complete = self.initial_update_complete

        historical_update_complete = self.historical_update_complete

        environment = self.environment.value

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "webhook_type": webhook_type,
                "webhook_code": webhook_code,
                "item_id": item_id,
                "initial_update_complete": initial_update_complete,
                "historical_update_complete": historical_update_complete,
                "environment": environment,
            }
        )
        if user_id is not UNSET:
            field_dict["user_id"] = user_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        webhook_type = WebhookType(d.pop("webhook_type"))

        webhook_code = SyncUpdatesAvailableWebhookWebhookCode(d.pop("webhook_code"))

        item_id = d.pop("item_id")

        initial_update_complete = d.pop("initial_update_complete")

        historical_update_complete = d.pop("historical_update_complete")

        environment = WebhookEnvironment(d.pop("environment"))

        user_id = d.pop("user_id", UNSET)

        sync_updates_available_webhook = cls(
            webhook_type=webhook_type,
            webhook_code=webhook_code,
            item_id=item_id,
            initial_update_complete=initial_update_complete,
            historical_update_complete=historical_update_complete,
            environment=environment,
            user_id=user_id,
        )

        sync_updates_available_webhook.additional_properties = d
        return sync_updates_available_webhook

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
