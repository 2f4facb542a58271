"""The example-farm variants of the stack tests."""

from tests.unit.stacks.conftest import make_site

__all__ = ["make_site"]
