from enum import StrEnum


class SyncUpdatesAvailableWebhookWebhookCode(StrEnum):
    SYNC_UPDATES_AVAILABLE = "SYNC_UPDATES_AVAILABLE"

    def __str__(self) -> str:
        return str(self.value)
