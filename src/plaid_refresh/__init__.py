"""Hand-written toolkit around the generated Plaid /transactions/refresh client."""
