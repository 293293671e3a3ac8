"""Celery tasks: readings (thin: take ids, call a service)."""

from __future__ import annotations
