"""Keeps each test's outcome on its item, so the browser fixture can screenshot a failure."""

from __future__ import annotations

import pytest

from support.console import browser, page, site  # noqa: F401 - the console's fixtures


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
