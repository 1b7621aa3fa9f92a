"""What an expression may read besides its row: the transaction's clock and the session's settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Context:
    """Per-statement state handed to functions declared with ``context=True``.

    Times are PostgreSQL's internal timestamptz integers (microseconds since
    2000-01-01 UTC): ``now`` is fixed at the start of the transaction, as now() is.
    """

    now: int = 0
    statement_now: int = 0
    timezone: str = "UTC"
    settings: dict[str, str] = field(default_factory=dict)
