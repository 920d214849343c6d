"""The command center's fixtures are those of tests/web (the service and its
app on one loop, `setup`); shared, not copied."""

from tests.web.conftest import loop, setup

__all__ = ["loop", "setup"]
