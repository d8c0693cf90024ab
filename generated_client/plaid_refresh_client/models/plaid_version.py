from enum import StrEnum


class PlaidVersion(StrEnum):
    VALUE_0 = "2020-09-14"
    VALUE_1 = "2019-05-29"
    VALUE_2 = "2018-05-22"
    VALUE_3 = "2017-03-08"

    def __str__(self) -> str:
        return str(self.value)
