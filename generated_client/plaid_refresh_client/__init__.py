"""A client library for accessing Plaid Transactions Refresh"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
