"""Celery discovers ``reports.tasks``; the tasks live in one module per area."""

from __future__ import annotations

from .readings import *  # noqa: F403
from .settlements import *  # noqa: F403
from .statements import *  # noqa: F403
