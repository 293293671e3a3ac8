"""The snapshot contract: what a finished settlement run recorded, typed.

The settlement (``reports.settlement.runs``) builds a ``RunSnapshot`` once and
stores ``snapshot_to_json(snapshot)`` in ``SettlementRun.snapshot``; statements and
the cluster report read it back with ``run_snapshot_read`` / ``snapshot_from_json``
and never parse a stored string themselves, nor recompute what the run computed.

Types: money, rates and percentages are ``Decimal``; energy is ``int`` Wh; days
are ``datetime.date``. The JSON encoding lives here only: a ``Decimal`` is its
exact string (``"229.3000"``), a date its ISO form, a tuple a list, a dataclass an
object with its field names. Decoding is strict: a missing, unknown or malformed
field raises ``SnapshotError`` naming the field (``totals.tier.discount_pct``).
Mappings come back in one canonical order (fee codes as ``FEE_ORDER``, other keys
sorted), so a PostgreSQL ``jsonb`` column, which reorders keys, reads the same.

Extending it: add a field to the dataclass that owns the subject (rules used →
``SnapshotRules``, the cluster's standing → ``ClusterStatus``, energy and money
figures → ``SnapshotTotals``), raise ``SCHEMA`` and add a data migration that
brings stored snapshots to the new schema (``reports/migrations/0009_snapshot_schema.py``
is the model). Readers then never need a fallback for older runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from okeportal.messages import Msg
from reports.engine import CooperativeScenario, Fee, PerMWh, StorageComparison, StorageScenario, Tier, TierScenario
from reports.engine.cooperative import CarriedSurplus
from reports.models import FEE_ORDER

SCHEMA = 6  # 1: the untyped dict written before the contract (no "schema" key); 2: before the eligibility verdict;
# 3: before the level rule and the cooperative's netting; 4: before the unverified rows were recorded;
# 5: before the evaluation period, tariff time zones, the VAT rate and the members' VAT deduction, the PPEs'
# billing regime and meter series were recorded

__all__ = [
    "SCHEMA",
    "ClusterStatus",
    "ConditionStatus",
    "EstimatedHours",
    "EstimatedPPE",
    "MonthEnergy",
    "NettingPeriodResult",
    "RunSnapshot",
    "SnapshotCluster",
    "SnapshotCooperativeNetting",
    "SnapshotEligibility",
    "SnapshotError",
    "SnapshotFee",
    "SnapshotMember",
    "SnapshotMembership",
    "SnapshotPPE",
    "SnapshotRate",
    "SnapshotRule",
    "SnapshotRules",
    "SnapshotScenarios",
    "SnapshotSegment",
    "SnapshotStorage",
    "SnapshotTier",
    "SnapshotTotals",
    "SnapshotUnverified",
    "SnapshotZoneHours",
    "StorageRegistered",
    "decode",
    "encode",
    "line_exemptions",
    "run_snapshot_read",
    "snapshot_from_json",
    "snapshot_to_json",
]


class SnapshotError(ValueError):
    """A stored snapshot that does not follow the contract; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"Zapis rozliczenia (snapshot) jest niepoprawny: pole „{field}”: {problem}.")


# --- the cluster and its standing at run time ----------------------------------------


@dataclass(frozen=True)
class SnapshotCluster:
    name: str
    slug: str
    kind: str  # members.models.ClusterKind value
    dso: str  # the DSO's name
    coordinator_name: str
    coordinator_address: str


@dataclass(frozen=True)
class ConditionStatus:
    """One statutory condition as ``members.services.conditions`` evaluated it."""

    code: str
    name: str
    ok: bool | None  # None: could not be evaluated (no data)
    value: Decimal | None
    threshold: Decimal
    unit: str
    comparison: str
    estimated: bool
    note: str


@dataclass(frozen=True)
class SnapshotEligibility:
    """Was the cluster eligible for support in the period (``reports.settlement.eligibility``)?

    Evaluated when the run was computed (``evaluated == "run"``), or, for a run computed
    before verdicts were recorded, from the registry as it was when the snapshot was
    converted (``"conversion"``). An ineligible run is still computed, as if eligible:
    its figures are a comparison, and its statements are published only on a
    coordinator's written reason (``SettlementRun.eligibility_override_reason``).
    """

    eligible: bool
    benefit_from: dt.date | None  # first day with a benefit; None: none in the period (ineligible)
    reasons: tuple[Msg, ...]  # blocking reasons first, then notes (e.g. support from mid-period)
    register_number: str
    register_date: dt.date | None
    support_from: dt.date | None  # the first day of support per register entry, cluster and rule (None: no entry)
    masked_days: int  # days of the period before the support starts, settled without a benefit
    evaluated: str  # "run" | "conversion"


@dataclass(frozen=True)
class ClusterStatus:
    """The cluster's conditions and area on the period's last day, evaluated when the run was computed,
    and its eligibility for support over the period."""

    on: dt.date
    area_ok: bool
    area_mode: str
    area_explanation: str
    area_errors: tuple[str, ...]
    conditions_ok: bool | None
    conditions: tuple[ConditionStatus, ...]
    warnings: tuple[str, ...]
    eligibility: SnapshotEligibility


# --- the dated rows and settings the run used ----------------------------------------


@dataclass(frozen=True)
class SnapshotRate:
    id: int | None
    dso: str | None
    tariff_group: str | None
    zone: str  # "" = all hours (całodobowa); else the time zone it priced (runs before zones: "")
    variable_rate: Decimal  # zł/MWh
    quality_rate: Decimal  # zł/MWh
    valid_from: dt.date
    valid_to: dt.date | None
    source_note: str
    used_from: dt.date  # the days of the period it was used on
    used_to: dt.date


@dataclass(frozen=True)
class SnapshotZoneHours:
    """A ``TariffZoneHours`` row the run used: zone ``zone`` of a group covers local hours
    [hour_from, hour_to) on ``day_kind`` days in months ``month_from``–``month_to``."""

    id: int | None
    dso: str | None
    tariff_group: str
    zone: str
    month_from: int
    month_to: int
    day_kind: str  # reports.models.DayKind value
    hour_from: int
    hour_to: int
    valid_from: dt.date
    valid_to: dt.date | None
    source_note: str
    used_from: dt.date
    used_to: dt.date


@dataclass(frozen=True)
class SnapshotFee:
    id: int | None
    code: str
    mode: str
    rate: Decimal | None
    effective_rate: Decimal  # zł/MWh
    obligation_pct: Decimal | None
    price: Decimal | None
    applies_to_cluster: bool
    applies_to_cooperative: bool
    valid_from: dt.date
    valid_to: dt.date | None
    used_from: dt.date
    used_to: dt.date


@dataclass(frozen=True)
class SnapshotTier:
    id: int | None
    threshold_pct: Decimal
    discount_pct: Decimal
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class SnapshotRule:
    id: int | None
    exemption_end_date: dt.date
    cooperative_coefficient: Decimal
    completeness_gate_pct: Decimal
    storage_price_spread: Decimal
    # "month": the level and tier are evaluated per run (the DSO's billing period); "year": over the
    # calendar year, monthly runs are provisional and the annual statement corrects them
    evaluation_period: str
    valid_from: dt.date
    valid_to: dt.date | None
    # The VAT rate of the rule, % (the rule is one over the whole period: ``tariff_plan``); gross
    # amounts for members that do not deduct VAT (``reports.engine.money.vat_gross``).
    vat_rate_pct: Decimal


@dataclass(frozen=True)
class SnapshotUnverified:
    """A dated row the run used whose value nobody verified: a presentation example or an unchecked source."""

    kind: str  # reports.models.RateUse.Kind value: "rate" | "fee" | "tier" | "rule" | "zone"
    id: int | None
    row: str  # the row in the document language (``reports.settlement.selectors.row_label``)
    source: str  # as the row recorded it; "" when it named none


@dataclass(frozen=True)
class SnapshotSegment:
    start: dt.date
    end: dt.date
    exempt: bool
    rate_ids: tuple[int, ...]
    fee_ids: tuple[int, ...]


@dataclass(frozen=True)
class SnapshotRules:
    """Rates, fees, tiers, the rule and the settings the run used.

    Stored inline (its fields sit at the top of the snapshot JSON, where the
    rate locks and the version diff read them). The place for further rules a run
    applies, e.g. the autoconsumption level rule it used.
    """

    rates: tuple[SnapshotRate, ...]
    fees: tuple[SnapshotFee, ...]
    tiers: tuple[SnapshotTier, ...]
    rule: SnapshotRule
    segments: tuple[SnapshotSegment, ...]
    allocation: str  # reports.models.AllocationMethod value
    allocation_keys: dict[str, Decimal] | None  # member ref → share (static allocation only)
    allocation_keys_valid_from: dt.date | None
    price_spread: Decimal  # zł/MWh, the storage scenarios' price spread
    unverified: tuple[SnapshotUnverified, ...]  # the rows above not verified (result page, coordinator's report)
    zone_hours: tuple[SnapshotZoneHours, ...]  # the zone schedules of zoned groups (runs before zones: none)

    def rate_in_force(self) -> SnapshotRate:
        """The distribution rate the report's tables use: the general row (any DSO, any
        group) if recorded, else any; of those the one in force at the period's end."""
        if not self.rates:
            raise SnapshotError("rates", "brak stawek dystrybucyjnych")
        general = [r for r in self.rates if not r.dso and not r.tariff_group and not r.zone]
        return max(general or self.rates, key=lambda r: (r.used_to, r.valid_from))

    def fees_in_force(self) -> tuple[SnapshotFee, ...]:
        """One row per fee code, the one in force at the period's end, in ``FEE_ORDER``."""
        latest: dict[str, SnapshotFee] = {}
        for fee in sorted(self.fees, key=lambda f: (f.used_to, f.valid_from)):
            latest[fee.code] = fee
        return tuple(latest[code] for code in _ordered_keys(latest))


# --- members and PPEs as the run saw them --------------------------------------------


@dataclass(frozen=True)
class SnapshotMember:
    ref: str
    name: str
    legal_form: str
    address: str
    nip: str
    regon: str
    krs: str
    joined_on: dt.date
    left_on: dt.date | None
    deducts_vat: bool  # Member.deducts_vat when the run was computed: False → statements show the gross too


@dataclass(frozen=True)
class SnapshotMembership:
    ppe: str  # PPE code
    member: str  # member ref
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class SnapshotPPE:
    code: str
    dso: str
    tariff_group: str
    voltage_level: str
    renewable_share: Decimal  # share of the PPE's fed-in energy counted as renewable (0..1)
    # The billing regime on the period's last day (members.models.BillingRegime: ordinary / net_metering /
    # net_billing) and the meter series the run settled: "raw", "balanced" (prosumer regime all period)
    # or "mixed" (the regime changed within the period). Runs before schema 6: ordinary, raw.
    billing_regime: str
    series: str


# --- what the run computed -----------------------------------------------------------


@dataclass(frozen=True)
class EstimatedPPE:
    code: str  # PPE code
    hours: int  # hours of the PPE estimated


@dataclass(frozen=True)
class EstimatedHours:
    """PPE-hours whose renewable part of the export was estimated from installed capacity.

    Counted for PPEs with renewable and other generators, in member hours with
    fed-in energy, where production data did not cover all the PPE's generators
    (or their total production was 0); every other hour was attributed from
    production data (``reports.metering.production``).
    """

    hours: int
    ppes: tuple[EstimatedPPE, ...]  # by PPE code


@dataclass(frozen=True)
class SnapshotTotals:
    """The cluster's figures for the period (also stored as ``SettlementRun.totals``).

    The place for further energy figures, e.g. estimated PPE-hours.
    """

    drawn_wh: int
    shared_wh: int
    fed_in_wh: int
    renewable_fed_in_wh: int
    autoconsumption_pct: Decimal
    tier: Tier | None  # the discount tier reached
    discount: Decimal
    exemptions: dict[str, Decimal]  # fee code → zł
    exemptions_total: Decimal
    total: Decimal
    cost_without_cluster: Decimal
    per_mwh: PerMWh  # per MWh of shared energy
    members: int
    ppes: int
    hours: int
    completeness_pct: Decimal
    missing_hours: int
    override_completeness: bool
    # None: a run computed before renewable energy was attributed from production data (not recorded)
    estimated: EstimatedHours | None
    # The level that set the tier: "all_sources" (members' generation of any kind matched hour by hour,
    # the seed's definition) or "renewable" (renewable only); ``autoconsumption_pct`` is that level.
    level_numerator: str
    renewable_level_pct: Decimal
    all_sources_level_pct: Decimal | None  # None: a run computed before both levels were recorded
    generation_shared_wh: int | None  # Σ_h min(members' generation fed-in_h, drawn_h)


@dataclass(frozen=True)
class StorageRegistered:
    power_kw: Decimal
    capacity_kwh: Decimal
    units: int


@dataclass(frozen=True)
class SnapshotStorage:
    """Registered and hypothetical storage dispatched on the period (also ``SettlementRun.storage``)."""

    registered: StorageRegistered
    generating_kw: Decimal
    price_spread: Decimal
    scenarios: tuple[StorageScenario, ...]


@dataclass(frozen=True)
class MonthEnergy:
    month: str  # YYYY-MM
    drawn_wh: int
    shared_wh: int
    fed_in_wh: int


@dataclass(frozen=True)
class SnapshotScenarios:
    """The seed's Tables 1–3, 5–6, 8 and the storage comparison for the run's demand and rates,
    computed by the run (``reports.settlement.results.run_scenarios``)."""

    demand_wh: int
    variable_rate: Decimal  # of ``SnapshotRules.rate_in_force``
    quality_rate: Decimal
    rate_note: str
    fees: tuple[Fee, ...]  # ``SnapshotRules.fees_in_force`` as engine fees
    tiers: tuple[TierScenario, ...]  # Tables 1–3
    reached_threshold_pct: Decimal | None  # the tier row the run reached
    cooperative: CooperativeScenario  # Tables 5, 6, 8
    coverage_pct: Decimal | None  # the cooperative's required demand coverage (dated condition rule)
    storage_level_pct: Decimal | None  # the cluster level the storage comparison uses
    storage: StorageComparison | None


@dataclass(frozen=True)
class NettingPeriodResult:
    """One netting period of the cooperative (``reports.engine.cooperative.CooperativeNetting``)."""

    start: dt.date  # the calendar month's or year's first day
    balanced_wh: int
    surplus_wh: int
    deficit_wh: int
    carried_in_wh: int
    expired_wh: int
    netted_wh: int
    used_surplus_wh: int


@dataclass(frozen=True)
class SnapshotCooperativeNetting:
    """The cooperative comparison as the 2022 regulation settles it (Dz.U. 2022 poz. 703: hourly
    1 : 1 balancing; art. 38e ustawy o OZE: surplus netted 1 : coefficient, carried forward).

    ``carried_in`` came from ``carried_from_run`` (the previous finished run of the cluster, the
    period ending the day before this one starts); ``carried_out`` is what the next period may use.
    """

    netting_period: str  # "month" | "year"
    carry_months: int
    carried_from_run: int | None
    carried_in: tuple[CarriedSurplus, ...]
    periods: tuple[NettingPeriodResult, ...]
    carried_out: tuple[CarriedSurplus, ...]


@dataclass(frozen=True)
class RunSnapshot:
    cluster: SnapshotCluster
    status: ClusterStatus
    rules: SnapshotRules = dataclasses.field(metadata={"inline": True})
    members: tuple[SnapshotMember, ...]
    memberships: tuple[SnapshotMembership, ...]
    ppes: tuple[SnapshotPPE, ...]
    totals: SnapshotTotals
    cooperative: CooperativeScenario  # the cooperative settled on the run's data (``cooperative_netting``)
    # None: a run computed before the netting was recorded (settled hour by hour, nothing carried)
    cooperative_netting: SnapshotCooperativeNetting | None
    storage: SnapshotStorage
    monthly: tuple[MonthEnergy, ...]  # the cluster, month by month
    scenarios: SnapshotScenarios


# --- JSON ------------------------------------------------------------------------------


def snapshot_to_json(snapshot: RunSnapshot) -> dict[str, Any]:
    """The JSON stored in ``SettlementRun.snapshot`` (with ``schema``)."""
    return {"schema": SCHEMA, **encode(snapshot)}


def snapshot_from_json(data: Any) -> RunSnapshot:
    """A stored snapshot, strictly: raises ``SnapshotError`` naming a missing or malformed field."""
    if not isinstance(data, dict):
        raise SnapshotError("snapshot", "oczekiwano obiektu JSON")
    if "schema" not in data:
        raise SnapshotError("schema", "brak wersji schematu (zapis sprzed migracji 0009)")
    if data["schema"] != SCHEMA:
        raise SnapshotError("schema", f"wersja {data['schema']!r}, obsługiwana {SCHEMA}")
    return decode(RunSnapshot, {k: v for k, v in data.items() if k != "schema"}, "")


def run_snapshot_read(run: Any) -> RunSnapshot:
    """The typed snapshot of a finished ``SettlementRun``; the error names the run and the field."""
    try:
        return snapshot_from_json(run.snapshot)
    except SnapshotError as exc:
        raise SnapshotError(f"rozliczenie {run.pk}: {exc.field}", exc.problem) from exc


def line_exemptions(line: Any) -> dict[str, Decimal]:
    """A ``SettlementLine``'s exemptions (fee code → zł) in ``FEE_ORDER``."""
    return decode(dict[str, Decimal], line.exemptions, f"linia {line.member_ref}: exemptions")


def encode(value: Any) -> Any:
    """Any snapshot value as JSON: Decimal → exact string, date → ISO, dataclass → object, tuple → list."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Msg):
        return value.as_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = encode(getattr(value, f.name))
            if f.metadata.get("inline"):
                out.update(item)
            else:
                out[f.name] = item
        return out
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} is not a snapshot value")


def decode(kind: Any, value: Any, path: str) -> Any:
    """``value`` (JSON) as ``kind`` (a snapshot type); ``path`` names the field in errors."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return decode(inner, value, path)
    if value is None:
        raise SnapshotError(path, "brak wartości")
    if isinstance(kind, type) and dataclasses.is_dataclass(kind) and kind is not Msg:
        return _decode_dataclass(kind, value, path)
    if origin is tuple:
        if not isinstance(value, list):
            raise SnapshotError(path, "oczekiwano listy")
        return tuple(decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise SnapshotError(path, "oczekiwano obiektu")
        return {k: decode(args[1], value[k], f"{path}.{k}") for k in _ordered_keys(value)}
    if kind not in _SCALARS:
        raise TypeError(f"{kind!r} is not a snapshot type ({path})")
    return _SCALARS[kind](value, path)


def _decimal(value: Any, path: str) -> Decimal:
    if not isinstance(value, str):
        raise SnapshotError(path, f"oczekiwano liczby dziesiętnej zapisanej tekstem, jest {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise SnapshotError(path, f"oczekiwano liczby dziesiętnej, jest {value!r}") from None
    if not number.is_finite():
        raise SnapshotError(path, f"oczekiwano liczby skończonej, jest {value!r}")
    return number


def _date(value: Any, path: str) -> dt.date:
    try:
        if isinstance(value, str) and len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise SnapshotError(path, f"oczekiwano daty RRRR-MM-DD, jest {value!r}")


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SnapshotError(path, f"oczekiwano true/false, jest {value!r}")
    return value


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SnapshotError(path, f"oczekiwano liczby całkowitej, jest {value!r}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SnapshotError(path, f"oczekiwano tekstu, jest {value!r}")
    return value


def _msg(value: Any, path: str) -> Msg:
    """A stored message (``okeportal.messages``): ``{"msg": code, "params": {...}}`` and, for plurals, ``plural``/``count``."""
    if not isinstance(value, dict) or not isinstance(value.get("msg"), str):
        raise SnapshotError(path, f"oczekiwano komunikatu {{\"msg\", \"params\"}}, jest {value!r}")
    if unknown := sorted(set(value) - {"msg", "params", "plural", "count"}):
        raise SnapshotError(f"{path}.{unknown[0]}", "nieznane pole")
    if not isinstance(value.get("params"), dict):
        raise SnapshotError(f"{path}.params", "oczekiwano obiektu")
    plural, count = value.get("plural", ""), value.get("count", "")
    if not isinstance(plural, str) or not isinstance(count, str):
        raise SnapshotError(f"{path}.plural", "oczekiwano tekstu")
    return Msg(code=value["msg"], params=dict(value["params"]), plural=plural, count=count)


_SCALARS = {Decimal: _decimal, dt.date: _date, bool: _bool, int: _int, str: _str, Msg: _msg}


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _field_names(kind: type) -> set[str]:
    names: set[str] = set()
    for f in dataclasses.fields(kind):
        names |= _field_names(_hints(kind)[f.name]) if f.metadata.get("inline") else {f.name}
    return names


def _decode_dataclass(kind: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise SnapshotError(path or kind.__name__, "oczekiwano obiektu")
    prefix = f"{path}." if path else ""
    if unknown := sorted(set(value) - _field_names(kind)):
        raise SnapshotError(prefix + unknown[0], "nieznane pole")
    hints = _hints(kind)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if f.metadata.get("inline"):
            own = _field_names(hints[f.name])
            fields[f.name] = _decode_dataclass(hints[f.name], {k: v for k, v in value.items() if k in own}, path)
        elif f.name not in value:
            raise SnapshotError(prefix + f.name, "brak pola")
        else:
            fields[f.name] = decode(hints[f.name], value[f.name], prefix + f.name)
    return kind(**fields)


def _ordered_keys(mapping: dict[str, Any]) -> list[str]:
    order = {str(code): i for i, code in enumerate(FEE_ORDER)}
    return sorted(mapping, key=lambda k: (order.get(k, len(order)), k))
