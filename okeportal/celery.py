"""Celery application.

With ``CELERY_BROKER_URL`` set (Redis in production) tasks go to separate worker
processes. Without it the broker is kombu's filesystem transport under ``var/``,
so ``make run`` has a real asynchronous queue with no Redis installed.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okeportal.settings")

app = Celery("okeportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
