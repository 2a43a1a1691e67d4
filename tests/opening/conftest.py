import pytest


@pytest.fixture
def settings(settings):
    """The public face's rate limit out of the way (tests/opening/test_public_limits.py
    tests it on its own)."""
    settings.public_rate_burst = 1_000_000
    return settings
