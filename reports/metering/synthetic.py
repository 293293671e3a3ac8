"""Synthetic but plausible hourly meter data (demo cluster, benchmarks).

Deterministic: the same PPE codes, period and seed give the same numbers on
every machine. Per PPE: a consumption profile by tariff group (households G:
morning and evening peaks; business C: working hours on weekdays; B/A:
two-shift industry), scaled to the declared annual demand or the contracted
power; generation by source (PV from the sun's elevation at Orzesze with
daily cloudiness, ~1,000 kWh/kWp a year; wind random; biogas, biomass, hydro
and CHP steady). The meter sees the net: import = max(load − generation, 0),
export = max(generation − load, 0).

Prosumer PPEs (a net-metering or net-billing ``PPEBillingRegime`` overlapping the
period) also get the DSO's balanced series. Their raw meter sees energy both ways
within an hour where load and generation overlap (a share of ``min(load,
generation)`` that varies hour by hour: the load's peaks draw, its dips feed in),
and the balanced values net the two: drawn − fed in or fed in − drawn, whichever
is positive. Other PPEs are unchanged.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from members.models import PROSUMER_REGIMES, MeteringPoint, PPEBillingRegime, Source
from reports.metering.store import Block, warsaw_offsets

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = dt.UTC
LATITUDE, LONGITUDE = 50.15, 18.70  # Orzesze
FULL_LOAD_FACTOR: dict[str, float] = {  # mean output / capacity for steady and wind sources
    Source.WIND: 0.25, Source.HYDRO: 0.45, Source.BIOGAS: 0.80, Source.BIOMASS: 0.75,
    Source.CHP_GAS: 0.60, Source.CONVENTIONAL: 0.50, Source.OTHER_RES: 0.30,
}
# mean load by local hour (relative), weekday and weekend
_HOUSEHOLD = np.array([.45, .40, .38, .37, .38, .45, .70, .95, .85, .70, .65, .65,
                       .70, .68, .65, .70, .85, 1.1, 1.35, 1.45, 1.35, 1.1, .85, .60])
_BUSINESS = np.array([.25, .25, .25, .25, .25, .30, .55, .95, 1.3, 1.4, 1.4, 1.4,
                      1.35, 1.4, 1.35, 1.25, 1.0, .70, .50, .40, .35, .30, .28, .26])
_INDUSTRY = np.array([.55, .55, .55, .55, .55, .65, .95, 1.2, 1.25, 1.25, 1.25, 1.2,
                      1.2, 1.25, 1.25, 1.2, 1.15, 1.05, .95, .85, .75, .65, .60, .55])


def _annual_kwh(ppe: MeteringPoint) -> float:
    if ppe.annual_demand_kwh:
        return float(ppe.annual_demand_kwh)
    group = (ppe.tariff_group or "C").upper()
    hours = {"G": 60.0, "C": 1200.0, "B": 3000.0, "A": 4000.0}.get(group[:1], 1200.0)
    return max(float(ppe.contracted_kw or 0) * hours, 500.0)


def _solar(hours_utc: np.ndarray) -> np.ndarray:
    """Clear-sky relative PV output (0–1) for UTC hour starts, taken at mid-hour."""
    t = hours_utc.astype("datetime64[s]").astype(np.int64) + 1800
    doy = ((t // 86400) - 4) % 365.2422  # days since ~1 Jan (epoch day 0 is 1 Jan 1970)
    decl = np.radians(23.44) * np.sin(2 * np.pi * (doy - 81) / 365.2422)
    solar_hour = (t % 86400) / 3600 + LONGITUDE / 15 - 12
    lat = np.radians(LATITUDE)
    elev = np.arcsin(np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(np.radians(15 * solar_hour)))
    return np.clip(np.sin(elev), 0, None) ** 1.3


def _profile(ppe: MeteringPoint, local: np.ndarray, weekday: np.ndarray, doy: np.ndarray) -> np.ndarray:
    group = (ppe.tariff_group or "C").upper()[:1]
    shape = {"G": _HOUSEHOLD, "B": _INDUSTRY, "A": _INDUSTRY}.get(group, _BUSINESS)[local]
    weekend = weekday >= 5
    if group == "G":
        shape = np.where(weekend, shape * 1.15, shape)
    elif group in "BA":
        shape = np.where(weekend, shape * 0.45, shape)
    else:
        shape = np.where(weekend, 0.30, shape)
    season = 1 + 0.18 * np.cos(2 * np.pi * (doy - 15) / 365.2422)  # winter peak
    return shape * season


def synthetic_readings(
    *, ppes: Sequence[MeteringPoint], start: dt.date, end: dt.date, seed: int = 2024
) -> Iterator[Block]:
    """One hourly ``Block`` per PPE for local days ``start``..``end`` (inclusive).

    Prefetch ``generators`` on the PPEs when passing many. One query finds the prosumer PPEs.
    """
    t0 = dt.datetime.combine(start, dt.time(), WARSAW).astimezone(UTC)
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), WARSAW).astimezone(UTC)
    n = int((t1 - t0).total_seconds() // 3600)
    hours = np.datetime64(t0.replace(tzinfo=None), "s") + np.arange(n) * np.timedelta64(3600, "s")
    seconds = hours.astype(np.int64)
    local_s = seconds + warsaw_offsets(seconds)
    local_hour = (local_s % 86400) // 3600
    local_day = local_s // 86400
    weekday = (local_day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    doy = (local_day - 4) % 365.2422
    solar = _solar(hours)
    n_days = int(local_day[-1] - local_day[0]) + 1 if n else 0
    day_index = local_day - local_day[0] if n else local_day
    prosumers = set(
        PPEBillingRegime.objects.filter(ppe__in=[p.pk for p in ppes], regime__in=PROSUMER_REGIMES, valid_from__lte=end)
        .exclude(valid_to__lt=start).values_list("ppe_id", flat=True)
    ) if ppes else set()
    for ppe in ppes:
        rng = np.random.default_rng([seed, zlib.crc32(ppe.code.encode())])
        shape = _profile(ppe, local_hour, weekday, doy)
        load_kw = shape / shape.mean() * _annual_kwh(ppe) / 8766 * rng.lognormal(0, 0.15, n)
        gen_kw = np.zeros(n)
        clouds = rng.beta(2.2, 1.6, n_days)[day_index] if n_days else np.zeros(0)
        for g in ppe.generators.all():
            kw = float(g.capacity_kw or Decimal(0))
            if g.source == Source.PV:
                # clear-sky sum ≈ 1,510 h a year at 50° N × mean clearness 0.58 × 1.18 ≈ 1,000 kWh/kWp
                gen_kw += kw * 1.18 * solar * clouds
            elif g.source == Source.WIND:
                gen_kw += kw * np.clip(rng.weibull(2.0, n) * FULL_LOAD_FACTOR[Source.WIND], 0, 1)
            else:
                factor = FULL_LOAD_FACTOR.get(g.source, 0.5)
                gen_kw += kw * np.clip(rng.normal(factor, 0.05, n), 0, 1)
        net_wh = np.rint((load_kw - gen_kw) * 1000).astype(np.int64)
        imp, exp = np.clip(net_wh, 0, None), np.clip(-net_wh, 0, None)
        if ppe.id not in prosumers:
            yield Block(ppe_id=ppe.id, start_utc=t0, resolution_min=60, import_wh=imp, export_wh=exp,
                        quality=np.ones(n, dtype=np.uint8))
            continue
        # both ways within the hour: the balanced values are the hour's net, the raw ones carry the overlap too
        both = np.rint(np.minimum(load_kw, gen_kw) * 1000 * rng.uniform(0.1, 0.35, n)).astype(np.int64)
        yield Block(
            ppe_id=ppe.id, start_utc=t0, resolution_min=60, import_wh=imp + both, export_wh=exp + both,
            quality=np.ones(n, dtype=np.uint8), import_balanced_wh=imp, export_balanced_wh=exp,
            balanced_quality=np.ones(n, dtype=np.uint8),
        )
