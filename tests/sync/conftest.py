"""The sync tests' fixtures live in ``sync_fixtures`` so test modules can import its helpers by a
name no other test folder uses (``conftest`` is not unique across the suite)."""

from sync_fixtures import aws, repo  # noqa: F401
