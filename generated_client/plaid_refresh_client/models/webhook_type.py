from enum import StrEnum


class WebhookType(StrEnum):
    TRANSACTIONS = "TRANSACTIONS"

    def __str__(self) -> str:
        return str(self.value)
