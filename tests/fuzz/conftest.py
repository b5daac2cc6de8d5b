"""The fuzzing tier runs against the whole local platform, shared with the other tiers."""

from tests.platform_fixture import local_platform  # noqa: F401  (shared session fixture)
