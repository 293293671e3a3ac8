"""What figures cached from a cluster's registry and meter data must match to be served.

Shared by the registry's condition figures (``members.services.conditions``), the
meter store (which invalidates on every write) and the completeness selector, so
it imports nothing of theirs: no import loop between the registry and the meter data.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router

from members.models import Cluster, ConditionRule, FullLoadHours

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeasuredEnergy:
    """A calendar year of meter data for the cluster's member PPEs (integer Wh)."""

    year: int
    fed_in_wh: int
    renewable_fed_in_wh: int
    drawn_wh: int
    generated_wh: int



# --- cached status ------------------------------------------------------------
#
# The status of a 1,000-member cluster reads a year of meter data (1–2 s), so the
# dashboard shows a copy computed once per change. A cached copy is used only
# while three things are unchanged, each visible to every gunicorn and Celery
# process because it lives in the database (or the shared cache):
#   * the cluster's version token, replaced by ``conditions_invalidate`` (meter
#     imports, registry writes, bulk writes that skip the history tables);
#   * the registry fingerprint: the newest history row of every model the
#     figures depend on, so an edit in the admin panel or a script that saves
#     through the ORM needs no explicit call;
#   * the day (rules and memberships are dated).
# ``OKE_STATUS_CACHE_SECONDS`` bounds what is left (gminas have no history).

VERSION_KEY = "oke:cluster-status:version:{cluster_id}"
STATUS_KEY = "oke:cluster-status:{cluster_id}"
_table_checked: set[str] = set()


def status_cache():
    return caches[settings.OKE_STATUS_CACHE]


def cache_usable() -> bool:
    """False when the database cache's table is missing (``manage.py createcachetable`` not run yet).

    Checked once per process when present, so a missing table degrades to computing
    the status on every view instead of failing the page or aborting a transaction.
    """
    cache = status_cache()
    if not isinstance(cache, DatabaseCache):
        return True
    table: str = cache._table  # type: ignore[attr-defined]  # DatabaseCache keeps its table's name private
    if table in _table_checked:
        return True
    connection = connections[router.db_for_read(cache.cache_model_class)]
    with connection.cursor() as cursor:
        present = table in connection.introspection.table_names(cursor)
    if present:
        _table_checked.add(table)
    else:
        logger.warning("Cache table %s is missing: run manage.py createcachetable.", table)
    return present


def _history_tables() -> list[str]:
    from members.models import DSO, Generator, Member, MeteringPoint, PPEMembership, StorageUnit

    models = (Cluster, DSO, Member, MeteringPoint, PPEMembership, Generator, StorageUnit, ConditionRule, FullLoadHours)
    return [m.history.model._meta.db_table for m in models]


def registry_fingerprint() -> str:
    """The newest history id of every model the figures read, in one query."""
    connection = connections[router.db_for_read(Cluster)]
    qn = connection.ops.quote_name
    columns = ", ".join(f"(SELECT MAX(history_id) FROM {qn(table)})" for table in _history_tables())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        row = cursor.fetchone()
    return "-".join("" if v is None else str(v) for v in row)


def conditions_invalidate(*, cluster_ids: Iterable[int]) -> None:
    """Forget the cached status of these clusters, in every process.

    Call it after a write that changes a cluster's figures (a meter import, a
    registry change). Inside a transaction with the database cache the new token
    commits or rolls back with the data.
    """
    pks = set(cluster_ids)
    if not pks or not cache_usable():
        return
    cache = status_cache()
    cache.set_many({VERSION_KEY.format(cluster_id=pk): uuid.uuid4().hex for pk in pks}, timeout=None)
    # Also drop the copies, so one is never served again even if the cache evicts the token.
    cache.delete_many([STATUS_KEY.format(cluster_id=pk) for pk in pks])


def cluster_data_stamp(*, cluster_id: int) -> tuple[str | None, str] | None:
    """What a copy of figures computed from the cluster's registry and meter data must match to be served.

    The cluster's version token (replaced by ``conditions_invalidate``) and the registry
    fingerprint; None when no shared cache is available (compute every time then).
    """
    if not cache_usable():
        return None
    return status_cache().get(VERSION_KEY.format(cluster_id=cluster_id)), registry_fingerprint()
