from enum import StrEnum


class PlaidVersion(StrEnum):
    VALUE_0 = "2020-09-14"

    def __str__(self) -> str:
        return str(self.value)
