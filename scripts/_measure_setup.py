"""Shared set-up of the measurement scripts: Django on a scratch database, a
throwaway cluster ``meas`` with N PPEs and no meter data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure_cluster(*, database_url: str, ppes: int):
    """Migrate the scratch database and return the ``meas`` cluster with ``ppes`` empty PPEs."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okeportal.settings")
    os.environ.setdefault("OKE_VAR_DIR", "/tmp/oke-meas-var")
    import django

    django.setup()
    from django.core.management import call_command

    from members.models import DSO, Cluster, Gmina, MeteringPoint
    from reports.models import MeterDay

    call_command("migrate", verbosity=0)
    dso, _ = DSO.objects.get_or_create(slug="meas", defaults={"name": "Meas"})
    gmina, _ = Gmina.objects.get_or_create(
        terc="9999999",
        defaults=dict(name="X", type="gm", powiat_terc="9999", powiat_name="X", woj_terc="99", woj_name="X"),
    )
    cluster, _ = Cluster.objects.get_or_create(slug="meas", defaults={"name": "Meas", "dso": dso})
    MeterDay.objects.filter(ppe__cluster=cluster).delete()
    existing = MeteringPoint.objects.filter(cluster=cluster).count()
    MeteringPoint.objects.bulk_create(
        MeteringPoint(cluster=cluster, code=f"MEAS{i:06d}", gmina=gmina, dso=dso, voltage_level="nN",
                      tariff_group="C11", contracted_kw=40)
        for i in range(existing, ppes)
    )
    # Meter imports accept readings only around a PPE's membership: one member holds them all.
    from members.models import Member, PPEMembership

    member, _ = Member.objects.get_or_create(
        cluster=cluster, ref="meas", defaults={"name": "Meas", "legal_form": "small_enterprise", "joined_on": "2020-01-01"}
    )
    PPEMembership.objects.bulk_create(
        PPEMembership(ppe=ppe, member=member, valid_from="2020-01-01")
        for ppe in MeteringPoint.objects.filter(cluster=cluster, memberships__isnull=True)
    )
    return cluster
