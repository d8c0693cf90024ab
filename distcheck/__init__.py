"""Checks of the built distributions as a service installs them (`make consumer-test`, `make lowest`).

Repository tooling only: never shipped. Each check builds its own clean venvs with uv from the wheels in
dist/ (`make dist`), by file, so no index is ever asked for this project's own distributions.
"""
