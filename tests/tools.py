"""Outside tools some tests need (Chromium, systemd-analyze): a skip with the way to install them
for a developer who lacks one, and a failure under ``CI=true``, where .ci/run installs them."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_tool(path: str | None, missing: str) -> str:
    """``path`` when the tool is there; otherwise skip (a developer) or fail (CI) saying ``missing``."""
    if path is None:
        if in_ci():
            pytest.fail(f"CI=true and {missing}: .ci/run should have installed it")
        pytest.skip(missing)
    return path
