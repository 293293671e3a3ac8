"""Loaded by pytest before Django's settings (``-p tests.testenv`` in pytest.ini).

The suite runs over plain HTTP with the test client, so it uses the development
security defaults (no HTTPS redirect, no secure-only cookies): DEBUG=True in the
environment, which also admits the development SECRET_KEY. pytest-django still
runs every test with settings.DEBUG = False. Production refuses both (settings.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("DEBUG", "True")
