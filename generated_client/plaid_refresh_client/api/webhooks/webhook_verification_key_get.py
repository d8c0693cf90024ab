from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.plaid_error import PlaidError
from ...models.plaid_version import PlaidVersion
from ...models.webhook_verification_key_get_request import (
    WebhookVerificationKeyGetRequest,
)
from ...models.webhook_verification_key_get_response import (
    WebhookVerificationKeyGetResponse,
)
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: WebhookVerificationKeyGetRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(plaid_version, Unset):
        headers["Plaid-Version"] = str(plaid_version)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/webhook_verification_key/get",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PlaidError | WebhookVerificationKeyGetResponse:
    if response.status_code == 200:
        response_200 = WebhookVerificationKeyGetResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = PlaidError.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = PlaidError.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = PlaidError.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = PlaidError.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = PlaidError.from_dict(response.json())

        return response_503

    response_default = PlaidError.from_dict(response.json())

    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[PlaidError | WebhookVerificationKeyGetResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookVerificationKeyGetRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> Response[PlaidError | WebhookVerificationKeyGetResponse]:
    """Get the public key that signs webhooks with a given key id.

     Returns the public JSON Web Key whose `kid` appears in the header of a webhook's
    `Plaid-Verification` JWT. Keys may be cached by key id; an expired key has a non-null
    `expired_at`. An unknown key id gives INVALID_INPUT / INVALID_WEBHOOK_VERIFICATION_KEY_ID.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (WebhookVerificationKeyGetRequest): The body of /webhook_verification_key/get.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PlaidError | WebhookVerificationKeyGetResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        plaid_version=plaid_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookVerificationKeyGetRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> PlaidError | WebhookVerificationKeyGetResponse | None:
    """Get the public key that signs webhooks with a given key id.

     Returns the public JSON Web Key whose `kid` appears in the header of a webhook's
    `Plaid-Verification` JWT. Keys may be cached by key id; an expired key has a non-null
    `expired_at`. An unknown key id gives INVALID_INPUT / INVALID_WEBHOOK_VERIFICATION_KEY_ID.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (WebhookVerificationKeyGetRequest): The body of /webhook_verification_key/get.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PlaidError | WebhookVerificationKeyGetResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        plaid_version=plaid_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookVerificationKeyGetRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> Response[PlaidError | WebhookVerificationKeyGetResponse]:
    """Get the public key that signs webhooks with a given key id.

     Returns the public JSON Web Key whose `kid` appears in the header of a webhook's
    `Plaid-Verification` JWT. Keys may be cached by key id; an expired key has a non-null
    `expired_at`. An unknown key id gives INVALID_INPUT / INVALID_WEBHOOK_VERIFICATION_KEY_ID.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (WebhookVerificationKeyGetRequest): The body of /webhook_verification_key/get.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PlaidError | WebhookVerificationKeyGetResponse]
    """

    kwargs = _get_kwargs(
        body=body,
        plaid_version=plaid_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: WebhookVerificationKeyGetRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> PlaidError | WebhookVerificationKeyGetResponse | None:
    """Get the public key that signs webhooks with a given key id.

     Returns the public JSON Web Key whose `kid` appears in the header of a webhook's
    `Plaid-Verification` JWT. Keys may be cached by key id; an expired key has a non-null
    `expired_at`. An unknown key id gives INVALID_INPUT / INVALID_WEBHOOK_VERIFICATION_KEY_ID.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (WebhookVerificationKeyGetRequest): The body of /webhook_verification_key/get.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PlaidError | WebhookVerificationKeyGetResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            plaid_version=plaid_version,
        )
    ).parsed
