from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.plaid_error import PlaidError
from ...models.plaid_version import PlaidVersion
from ...models.transactions_refresh_request import TransactionsRefreshRequest
from ...models.transactions_refresh_response import TransactionsRefreshResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: TransactionsRefreshRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(plaid_version, Unset):
        headers["Plaid-Version"] = str(plaid_version)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/transactions/refresh",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PlaidError | TransactionsRefreshResponse:
    if response.status_code == 200:
        response_200 = TransactionsRefreshResponse.from_dict(response.json())

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
) -> Response[PlaidError | TransactionsRefreshResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: TransactionsRefreshRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> Response[PlaidError | TransactionsRefreshResponse]:
    """Start an on-demand extraction of an Item's newest transactions.

     Starts an on-demand extraction of the newest transactions for an Item, in addition to the
    periodic extractions Plaid runs one or more times a day for every Transactions-enabled Item.

    - **Prerequisite.** The Item must already have the Transactions product; otherwise the call
      fails with ITEM_ERROR / PRODUCT_NOT_ENABLED (or PRODUCT_NOT_READY while the first
      extraction is still running).
    - **Paid add-on.** `/transactions/refresh` is an optional add-on to Transactions with its own
      fee model. A client that has not been given access gets INVALID_INPUT /
      UNAUTHORIZED_ROUTE_ACCESS.
    - **Latency.** The extraction runs synchronously: answers usually take under 10 seconds and
      sometimes 30 seconds or more. Use a read timeout well above 30 seconds.
    - **Rate limit.** 2 calls per Item per minute and 100 calls per client per minute, in Sandbox
      and Production alike; over either limit the answer is 429 RATE_LIMIT_EXCEEDED /
      TRANSACTIONS_REFRESH_LIMIT. No Retry-After header is sent.
    - **Capital One.** Calling it on a Capital One (`ins_128026`) Item whose accounts are all
      non-depository (credit cards, loans) fails with ITEM_ERROR / PRODUCTS_NOT_SUPPORTED.
    - **Webhooks.** When the extraction finds changes, Plaid fires SYNC_UPDATES_AVAILABLE (for
      /transactions/sync users, on any addition, modification or removal), DEFAULT_UPDATE (new
      transactions, for /transactions/get users) and TRANSACTIONS_REMOVED (removed transactions,
      for both). Fetch the changes with /transactions/sync or /transactions/get.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (TransactionsRefreshRequest): The body of /transactions/refresh. Fields not listed
            here are rejected with UNKNOWN_FIELDS.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PlaidError | TransactionsRefreshResponse]
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
    body: TransactionsRefreshRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> PlaidError | TransactionsRefreshResponse | None:
    """Start an on-demand extraction of an Item's newest transactions.

     Starts an on-demand extraction of the newest transactions for an Item, in addition to the
    periodic extractions Plaid runs one or more times a day for every Transactions-enabled Item.

    - **Prerequisite.** The Item must already have the Transactions product; otherwise the call
      fails with ITEM_ERROR / PRODUCT_NOT_ENABLED (or PRODUCT_NOT_READY while the first
      extraction is still running).
    - **Paid add-on.** `/transactions/refresh` is an optional add-on to Transactions with its own
      fee model. A client that has not been given access gets INVALID_INPUT /
      UNAUTHORIZED_ROUTE_ACCESS.
    - **Latency.** The extraction runs synchronously: answers usually take under 10 seconds and
      sometimes 30 seconds or more. Use a read timeout well above 30 seconds.
    - **Rate limit.** 2 calls per Item per minute and 100 calls per client per minute, in Sandbox
      and Production alike; over either limit the answer is 429 RATE_LIMIT_EXCEEDED /
      TRANSACTIONS_REFRESH_LIMIT. No Retry-After header is sent.
    - **Capital One.** Calling it on a Capital One (`ins_128026`) Item whose accounts are all
      non-depository (credit cards, loans) fails with ITEM_ERROR / PRODUCTS_NOT_SUPPORTED.
    - **Webhooks.** When the extraction finds changes, Plaid fires SYNC_UPDATES_AVAILABLE (for
      /transactions/sync users, on any addition, modification or removal), DEFAULT_UPDATE (new
      transactions, for /transactions/get users) and TRANSACTIONS_REMOVED (removed transactions,
      for both). Fetch the changes with /transactions/sync or /transactions/get.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (TransactionsRefreshRequest): The body of /transactions/refresh. Fields not listed
            here are rejected with UNKNOWN_FIELDS.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PlaidError | TransactionsRefreshResponse
    """

    return sync_detailed(
        client=client,
        body=body,
        plaid_version=plaid_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: TransactionsRefreshRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> Response[PlaidError | TransactionsRefreshResponse]:
    """Start an on-demand extraction of an Item's newest transactions.

     Starts an on-demand extraction of the newest transactions for an Item, in addition to the
    periodic extractions Plaid runs one or more times a day for every Transactions-enabled Item.

    - **Prerequisite.** The Item must already have the Transactions product; otherwise the call
      fails with ITEM_ERROR / PRODUCT_NOT_ENABLED (or PRODUCT_NOT_READY while the first
      extraction is still running).
    - **Paid add-on.** `/transactions/refresh` is an optional add-on to Transactions with its own
      fee model. A client that has not been given access gets INVALID_INPUT /
      UNAUTHORIZED_ROUTE_ACCESS.
    - **Latency.** The extraction runs synchronously: answers usually take under 10 seconds and
      sometimes 30 seconds or more. Use a read timeout well above 30 seconds.
    - **Rate limit.** 2 calls per Item per minute and 100 calls per client per minute, in Sandbox
      and Production alike; over either limit the answer is 429 RATE_LIMIT_EXCEEDED /
      TRANSACTIONS_REFRESH_LIMIT. No Retry-After header is sent.
    - **Capital One.** Calling it on a Capital One (`ins_128026`) Item whose accounts are all
      non-depository (credit cards, loans) fails with ITEM_ERROR / PRODUCTS_NOT_SUPPORTED.
    - **Webhooks.** When the extraction finds changes, Plaid fires SYNC_UPDATES_AVAILABLE (for
      /transactions/sync users, on any addition, modification or removal), DEFAULT_UPDATE (new
      transactions, for /transactions/get users) and TRANSACTIONS_REMOVED (removed transactions,
      for both). Fetch the changes with /transactions/sync or /transactions/get.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (TransactionsRefreshRequest): The body of /transactions/refresh. Fields not listed
            here are rejected with UNKNOWN_FIELDS.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PlaidError | TransactionsRefreshResponse]
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
    body: TransactionsRefreshRequest,
    plaid_version: PlaidVersion | Unset = UNSET,
) -> PlaidError | TransactionsRefreshResponse | None:
    """Start an on-demand extraction of an Item's newest transactions.

     Starts an on-demand extraction of the newest transactions for an Item, in addition to the
    periodic extractions Plaid runs one or more times a day for every Transactions-enabled Item.

    - **Prerequisite.** The Item must already have the Transactions product; otherwise the call
      fails with ITEM_ERROR / PRODUCT_NOT_ENABLED (or PRODUCT_NOT_READY while the first
      extraction is still running).
    - **Paid add-on.** `/transactions/refresh` is an optional add-on to Transactions with its own
      fee model. A client that has not been given access gets INVALID_INPUT /
      UNAUTHORIZED_ROUTE_ACCESS.
    - **Latency.** The extraction runs synchronously: answers usually take under 10 seconds and
      sometimes 30 seconds or more. Use a read timeout well above 30 seconds.
    - **Rate limit.** 2 calls per Item per minute and 100 calls per client per minute, in Sandbox
      and Production alike; over either limit the answer is 429 RATE_LIMIT_EXCEEDED /
      TRANSACTIONS_REFRESH_LIMIT. No Retry-After header is sent.
    - **Capital One.** Calling it on a Capital One (`ins_128026`) Item whose accounts are all
      non-depository (credit cards, loans) fails with ITEM_ERROR / PRODUCTS_NOT_SUPPORTED.
    - **Webhooks.** When the extraction finds changes, Plaid fires SYNC_UPDATES_AVAILABLE (for
      /transactions/sync users, on any addition, modification or removal), DEFAULT_UPDATE (new
      transactions, for /transactions/get users) and TRANSACTIONS_REMOVED (removed transactions,
      for both). Fetch the changes with /transactions/sync or /transactions/get.

    Args:
        plaid_version (PlaidVersion | Unset): A Plaid API version Plaid accepts, newest first.
            This project's client sends `2020-09-14`.
        body (TransactionsRefreshRequest): The body of /transactions/refresh. Fields not listed
            here are rejected with UNKNOWN_FIELDS.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PlaidError | TransactionsRefreshResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            plaid_version=plaid_version,
        )
    ).parsed
