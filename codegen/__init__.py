"""`make generate` and `make check-generated`: everything derived from the spec, generated in one step.

Not shipped in any distribution: it is the repository's build tooling (run as `python -m codegen`).
"""
