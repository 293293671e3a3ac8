"""Settlement runs: gather from the database, call the pure engine, publish immutably."""

from __future__ import annotations

from .runs import settlement_compute, settlement_execute, settlement_fail, settlement_request, settlement_retry

__all__ = ["settlement_compute", "settlement_execute", "settlement_fail", "settlement_request", "settlement_retry"]
