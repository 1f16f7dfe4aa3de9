"""The embedded server's one error type: str() is one line that names the fix."""

from __future__ import annotations


class EmbeddedPostgresError(RuntimeError):
    pass
