from enum import StrEnum


class DefaultUpdateWebhookWebhookCode(StrEnum):
    DEFAULT_UPDATE = "DEFAULT_UPDATE"

    def __str__(self) -> str:
        return str(self.value)
