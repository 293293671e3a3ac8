"""Closing a meter-data import's record (``ReadingImport``), shared by the meter and production imports."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from okeportal.messages import Msg, msg_polish
from reports.models import JobStatus, ReadingImport


def reading_import_finish(reading_import: ReadingImport, *, status: str, message: Msg, **fields: Any) -> ReadingImport:
    """Set the outcome (status, the message as text and as a code, the finish time) and save the row."""
    for name, value in fields.items():
        setattr(reading_import, name, value)
    reading_import.status = status
    reading_import.message = msg_polish(message)[:300]
    reading_import.message_data = message.as_json()
    reading_import.finished_at = timezone.now()
    if status == JobStatus.DONE:
        reading_import.progress = 100
    reading_import.save()
    return reading_import
