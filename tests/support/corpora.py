"""Third-party test corpora (BagIt conformance suite, PRONOM skeleton suite), found by setting.

``PRESERVE_CORPORA`` names the shared corpora folder (``.ci/run`` points it at
``../shared/corpora``). Unset, as in a clone elsewhere, a test that needs a corpus is skipped
with that reason; set but missing the corpus, the test fails, so a broken checkout of the corpora
cannot pass as a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA_ENV = "PRESERVE_CORPORA"


def corpus(name: str) -> Path:
    """The folder of corpus ``name`` inside ``$PRESERVE_CORPORA``."""
    root = os.environ.get(CORPORA_ENV)
    if not root:
        pytest.skip(f"{CORPORA_ENV} not set: the third-party corpus {name!r} is not available")
    path = Path(root) / name
    if not path.is_dir():
        pytest.fail(
            f"{CORPORA_ENV}={root} but the corpus {name!r} is missing there ({path} is not a "
            "directory): restore the shared corpora or unset the variable",
            pytrace=False,
        )
    return path
