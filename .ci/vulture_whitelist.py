"""Names vulture reports as unused that are used in ways it cannot see (vulture reads this file as code
that uses them). Each entry says who uses it."""

local_hub  # noqa: F821, B018  tests/test_hub.py: a pytest fixture requested for its side effect (a local hub)
