"""Celery tasks: statements (thin: take ids, call a service)."""

from __future__ import annotations
