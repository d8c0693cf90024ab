from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_error_code import KnownErrorCode
from ..models.known_error_type import KnownErrorType
from ..types import UNSET, Unset

T = TypeVar("T", bound="PlaidError")


@_attrs_define
class PlaidError:
    """The error object of every non-2xx answer. Plaid may add fields; accept unknown ones. Match on
    `error_code`, not on `error_message`, which may change.

        Attributes:
            error_type (KnownErrorType | str): A broad category of the error. Unknown values must be accepted.
            error_code (KnownErrorCode | str): The specific error. Unknown values must be accepted.
            error_message (str): A developer-facing explanation. It may change; do not match on it.
            display_message (None | str): A message safe to show to an end user, or null.
            request_id (str | Unset): An opaque, case-sensitive identifier of the request (15 alphanumeric characters in
                examples).
                Quote it to Plaid support.
            documentation_url (str | Unset): A link to the documentation of this error code.
            suggested_action (None | str | Unset): What to do about the error, or null.
            error_code_reason (None | str | Unset): A finer reason for some error codes, or null.
            causes (list[Any] | Unset): Underlying causes, for batch operations. Usually empty.
            status (int | None | Unset): The HTTP status, filled only when the error arrives in a webhook; otherwise null.
            required_account_subtypes (list[str] | Unset): Account subtypes the call needed, for some ITEM_ERROR codes.
            provided_account_subtypes (list[str] | Unset): Account subtypes the Item has, for some ITEM_ERROR codes.
    """

    error_type: KnownErrorType | str
    error_code: KnownErrorCode | str
    error_message: str
    display_message: None | str
    request_id: str | Unset = UNSET
    documentation_url: str | Unset = UNSET
    suggested_action: None | str | Unset = UNSET
    error_code_reason: None | str | Unset = UNSET
    causes: list[Any] | Unset = UNSET
    status: int | None | Unset = UNSET
    required_account_subtypes: list[str] | Unset = UNSET
    provided_account_subtypes: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error_type: str
        if isinstance(self.error_type, KnownErrorType):
            error_type = self.error_type.value
        else:
            error_type = self.error_type

        error_code: str
        if isinstance(self.error_code, KnownErrorCode):
            error_code = self.error_code.value
        else:
            error_code = self.error_code

        error_message = self.error_message

        display_message: None | str
        display_message = self.display_message

        request_id = self.request_id

        documentation_url = self.documentation_url

        suggested_action: None | str | Unset
        if isinstance(self.suggested_action, Unset):
            suggested_action = UNSET
        else:
            suggested_action = self.suggested_action

        error_code_reason: None | str | Unset
        if isinstance(self.error_code_reason, Unset):
            error_code_reason = UNSET
        else:
            error_code_reason = self.error_code_reason

        causes: list[Any] | Unset = UNSET
        if not isinstance(self.causes, Unset):
            causes = self.causes

        status: int | None | Unset
        if isinstance(self.status, Unset):
            status = UNSET
        else:
            status = self.status

        required_account_subtypes: list[str] | Unset = UNSET
        if not isinstance(self.required_account_subtypes, Unset):
            required_account_subtypes = self.required_account_subtypes

        provided_account_subtypes: list[str] | Unset = UNSET
        if not isinstance(self.provided_account_subtypes, Unset):
            provided_account_subtypes = self.provided_account_subtypes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error_type": error_type,
                "error_code": error_code,
                "error_message": error_message,
                "display_message": display_message,
            }
        )
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if documentation_url is not UNSET:
            field_dict["documentation_url"] = documentation_url
        if suggested_action is not UNSET:
            field_dict["suggested_action"] = suggested_action
        if error_code_reason is not UNSET:
            field_dict["error_code_reason"] = error_code_reason
        if causes is not UNSET:
            field_dict["causes"] = causes
        if status is not UNSET:
            field_dict["status"] = status
        if required_account_subtypes is not UNSET:
            field_dict["required_account_subtypes"] = required_account_subtypes
        if provided_account_subtypes is not UNSET:
            field_dict["provided_account_subtypes"] = provided_account_subtypes

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_error_type(data: object) -> KnownErrorType | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                error_type_type_0 = KnownErrorType(data)

                return error_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownErrorType | str, data)

        error_type = _parse_error_type(d.pop("error_type"))

        def _parse_error_code(data: object) -> KnownErrorCode | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                error_code_type_0 = KnownErrorCode(data)

                return error_code_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownErrorCode | str, data)

        error_code = _parse_error_code(d.pop("error_code"))

        error_message = d.pop("error_message")

        def _parse_display_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        display_message = _parse_display_message(d.pop("display_message"))

        request_id = d.pop("request_id", UNSET)

        documentation_url = d.pop("documentation_url", UNSET)

        def _parse_suggested_action(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        suggested_action = _parse_suggested_action(d.pop("suggested_action", UNSET))

        def _parse_error_code_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_code_reason = _parse_error_code_reason(d.pop("error_code_reason", UNSET))

        causes = cast(list[Any], d.pop("causes", UNSET))

        def _parse_status(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        status = _parse_status(d.pop("status", UNSET))

        required_account_subtypes = cast(
            list[str], d.pop("required_account_subtypes", UNSET)
        )

        provided_account_subtypes = cast(
            list[str], d.pop("provided_account_subtypes", UNSET)
        )

        plaid_error = cls(
            error_type=error_type,
            error_code=error_code,
            error_message=error_message,
            display_message=display_message,
            request_id=request_id,
            documentation_url=documentation_url,
            suggested_action=suggested_action,
            error_code_reason=error_code_reason,
            causes=causes,
            status=status,
            required_account_subtypes=required_account_subtypes,
            provided_account_subtypes=provided_account_subtypes,
        )

        plaid_error.additional_properties = d
        return plaid_error

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
