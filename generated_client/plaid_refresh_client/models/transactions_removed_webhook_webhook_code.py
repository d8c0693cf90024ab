from enum import StrEnum


class TransactionsRemovedWebhookWebhookCode(StrEnum):
    TRANSACTIONS_REMOVED = "TRANSACTIONS_REMOVED"

    def __str__(self) -> str:
        return str(self.value)
