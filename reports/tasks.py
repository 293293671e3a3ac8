"""Celery discovers ``reports.tasks``; the tasks live in one module per area."""

from __future__ import annotations

from reports.metering.tasks import *  # noqa: F403
from reports.settlement.tasks import *  # noqa: F403
from reports.statements.tasks import *  # noqa: F403
