"""Validate every row of every file into a ``Plan``; nothing is written here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_noop
from stdnum.pl import nip, pesel, regon

from members.models import (
    DSO,
    VOLTAGE_LEVELS_BELOW_110KV,
    Cluster,
    Generator,
    Gmina,
    LegalForm,
    Member,
    MeteringPoint,
    Source,
    StorageUnit,
    VoltageLevel,
    vat_deduction_default,
)
from members.services.area import PPECandidate, area_check
from members.services.imports.cells import (
    CellError,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_percent_fraction,
    parse_regime,
)
from members.services.imports.sources import Problem, Table
from members.services.memberships import (
    periods_overlapping,
    ppe_code_clash_message,
    ppe_codes_other_cluster_periods,
)
from members.services.validators import PPECode, member_identifiers_validate, ppe_code_check
from okeportal.messages import msg, msg_str

# column → required
COLUMNS: dict[str, dict[str, bool]] = {
    "members": {
        "ref": True, "name": True, "legal_form": True, "nip": False, "regon": False, "krs": False, "pesel": False,
        "street": False, "postal_code": False, "city": False, "email": False, "joined_on": True, "left_on": False,
        "controlled_by_jst": False, "deducts_vat": False,
    },
    "metering_points": {
        "code": True, "member_ref": True, "gmina_terc": True, "dso": False, "voltage_level": True,
        "tariff_group": True, "contracted_kw": True, "joined_on": False, "left_on": False,
        "annual_demand_kwh": False, "address": False, "is_sample": False,
        "billing_regime": False, "billing_regime_from": False,
    },
    "generators": {
        "ppe_code": True, "name": True, "source": True, "capacity_kw": True, "thermal_kw": False,
        "biogas_m3_per_year": False, "commissioned_on": False,
    },
    "storage_units": {
        "ppe_code": True, "name": True, "power_kw": True, "capacity_kwh": True, "efficiency": False,
    },
}

_REF = re.compile(r"^[-a-zA-Z0-9_]{1,40}$")
_POSTAL = re.compile(r"^(\d{2})-?(\d{3})$")
_TARIFF = re.compile(r"^[A-Za-z][0-9A-Za-z]{0,9}$")


@dataclass
class Row:
    line: int
    key: str
    values: dict[str, Any]
    existing: Any = None


@dataclass(kw_only=True)
class PPERow(Row):
    member_ref: str
    valid_from: dt.date
    valid_to: dt.date | None
    # the billing regime in force from ``regime_from`` (columns billing_regime, billing_regime_from); None: not given
    regime: str | None = None
    regime_from: dt.date | None = None


@dataclass
class Plan:
    members: list[Row] = field(default_factory=list)
    ppes: list[PPERow] = field(default_factory=list)
    generators: list[Row] = field(default_factory=list)
    storage: list[Row] = field(default_factory=list)


@dataclass
class AreaRow:
    """A PPE row whose gmina, DSO and voltage level are right, for the area rule on the whole file."""

    line: int
    code: str
    gmina: Gmina
    dso: DSO
    voltage_level: str
    existing: MeteringPoint | None
    valid_to: dt.date | None


def _ppe_key(value: str) -> str:
    return value.replace(" ", "").upper()


class Checker:
    """Checks every readable row of every file, format and rules together, and collects all problems.

    A row with any problem is left out of the plan (nothing is saved then), but its
    other cells are still checked, and the area rule is checked on every PPE row
    whose gmina, DSO and voltage level are right, so one round shows everything
    the files can tell. ``unreadable`` names the tables that could not be read: a
    reference into one of them is not reported as unknown.
    """

    def __init__(self, *, cluster: Cluster, tables: dict[str, Table], unreadable: Collection[str] = ()) -> None:
        self.cluster = cluster
        self.tables = tables
        self.unreadable = frozenset(unreadable)
        self.problems: list[Problem] = []
        self.plan = Plan()
        self.area_rows: list[AreaRow] = []
        self.dsos = {d.slug: d for d in DSO.objects.all()}
        self.members_db = {m.ref: m for m in Member.objects.filter(cluster=cluster)}
        self.ppes_db = {p.code: p for p in MeteringPoint.objects.filter(cluster=cluster).select_related("gmina", "dso")}
        self.file = ""
        self.line = 0
        # Required columns the current file's header lacks (reported once; its rows are checked, never saved).
        self.missing: set[str] = set()

    # --- helpers ------------------------------------------------------------

    def error(self, column: str, message: str, *, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, self.line if line is None else line, column, message))

    def cell(self, row: dict[str, str], column: str, parse: Callable[[str], Any] | None = None, *, required: bool = False) -> Any:
        value = row.get(column, "")
        if not value:
            if required and column not in self.missing:
                self.error(column, msg_str(gettext_noop("wartość jest wymagana.")))
            return None
        if parse is None:
            return value
        try:
            return parse(value)
        except CellError as exc:
            self.error(column, str(exc))
            return None

    def _header_check(self, kind: str, table: Table) -> set[str]:
        """Report unknown and missing columns; returns the required columns that are missing."""
        spec = COLUMNS[kind]
        for column in table.columns:
            if column not in spec:
                self.problems.append(
                    Problem(table.file, 1, column, msg_str(gettext_noop("nieznana kolumna; dozwolone: %(c)s."), c=", ".join(spec)))
                )
        missing = {column for column, required in spec.items() if required and column not in table.columns}
        for column in (c for c in spec if c in missing):
            self.problems.append(Problem(table.file, 1, column, msg_str(gettext_noop("brak wymaganej kolumny."))))
        return missing

    def _rows(self, kind: str):
        table = self.tables.get(kind)
        if table is None:
            return
        self.missing = self._header_check(kind, table)
        self.file = table.file
        seen: dict[str, int] = {}
        key_column = {"members": "ref", "metering_points": "code"}.get(kind)
        for line, row in table.rows:
            self.line = line
            if key_column:
                key = _ppe_key(row.get(key_column, "")) if kind == "metering_points" else row.get(key_column, "")
            else:
                key = f"{_ppe_key(row.get('ppe_code', ''))}|{row.get('name', '')}"
            if key.strip("|") and key in seen:
                self.error(
                    key_column or "name",
                    msg_str(gettext_noop("powtórzony %(what)s „%(key)s” (pierwszy raz w wierszu %(first)s)."), what=key_column or msg(gettext_noop("obiekt (ppe_code + name)")), key=key.replace("|", " / "), first=seen[key]),
                )
                continue
            seen[key] = line
            yield line, row
        self.missing = set()

    def _file_keys(self, kind: str, column: str) -> set[str]:
        """Keys in a file, its rows that could not be split into columns included (they are reported already)."""
        table = self.tables.get(kind)
        if table is None:
            return set()
        normal = _ppe_key if kind == "metering_points" else str.strip
        return {normal(row.get(column, "")) for _line, row in [*table.rows, *table.broken]}

    def _failed(self, *, before: int) -> bool:
        """The current row has a problem (or its file lacks a required column): it is not saved."""
        return len(self.problems) > before or bool(self.missing)

    # --- files ----------------------------------------------------------------

    def run(self) -> Plan:
        self.check_members()
        self.check_ppes()
        self.check_installations("generators")
        self.check_installations("storage_units")
        self.check_area()
        return self.plan

    # --- members.csv ------------------------------------------------------------

    def check_members(self) -> None:
        for line, row in self._rows("members"):
            before = len(self.problems)
            ref = self.cell(row, "ref", required=True)
            if ref and not _REF.match(ref):
                self.error("ref", msg_str(gettext_noop("symbol „%(v)s”: tylko litery bez polskich znaków, cyfry, „-” i „_”, do 40 znaków."), v=ref))
            name = self.cell(row, "name", required=True)
            if name and len(name) > 250:
                self.error("name", msg_str(gettext_noop("nazwa jest dłuższa niż 250 znaków.")))
            form = self.cell(row, "legal_form", lambda v: parse_choice(v, choices=list(LegalForm.values)), required=True)
            ids = self._member_identifiers(row, form)
            postal = self._member_postal(row)
            email = self._member_email(row)
            joined, left = self._member_period(row)
            jst = self.cell(row, "controlled_by_jst", parse_bool) or False
            # Empty: a registered member keeps its value, a new one gets its legal form's default.
            deducts_vat = self.cell(row, "deducts_vat", parse_bool)
            if self._failed(before=before):
                continue
            existing = self.members_db.get(ref)
            if deducts_vat is None:
                deducts_vat = existing.deducts_vat if existing is not None else vat_deduction_default(form)
            values = {
                "name": name, "legal_form": form, "street": row.get("street", ""), "postal_code": postal or "",
                "city": row.get("city", ""), "email": email or "", "joined_on": joined, "left_on": left,
                "controlled_by_jst": jst, "deducts_vat": deducts_vat, **ids,
            }
            self.plan.members.append(Row(line, ref, values, existing))

    def _member_identifiers(self, row: dict[str, str], form: str | None) -> dict[str, str]:
        """NIP, REGON, KRS and PESEL checked against the legal form; returned in their compact form."""
        ids = {k: row.get(k, "") for k in ("nip", "regon", "krs", "pesel")}
        if not form:
            return ids
        problems = member_identifiers_validate(legal_form=form, **ids)
        for column, messages in problems.items():
            for message in messages:
                self.error(column, message)
        if problems:
            return ids
        return {
            "nip": nip.compact(ids["nip"]) if ids["nip"] else "",
            "regon": regon.compact(ids["regon"]) if ids["regon"] else "",
            "krs": ids["krs"].replace(" ", "").zfill(10) if ids["krs"] else "",
            "pesel": pesel.compact(ids["pesel"]) if ids["pesel"] else "",
        }

    def _member_postal(self, row: dict[str, str]) -> str | None:
        postal = self.cell(row, "postal_code")
        if not postal:
            return postal
        m = _POSTAL.match(postal)
        if m:
            return f"{m[1]}-{m[2]}"
        self.error("postal_code", msg_str(gettext_noop("„%(v)s”: kod pocztowy ma postać 00-000."), v=postal))
        return None

    def _member_email(self, row: dict[str, str]) -> str | None:
        email = self.cell(row, "email")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                self.error("email", msg_str(gettext_noop("„%(v)s” nie jest prawidłowym adresem e-mail."), v=email))
        return email

    def _member_period(self, row: dict[str, str]) -> tuple[dt.date | None, dt.date | None]:
        joined = self.cell(row, "joined_on", parse_date, required=True)
        left = self.cell(row, "left_on", parse_date)
        if joined and left and left < joined:
            self.error("left_on", msg_str(gettext_noop("data wystąpienia %(l)s jest wcześniejsza niż data przystąpienia %(j)s."), l=left, j=joined))
        return joined, left

    def _member_dates(self, ref: str) -> tuple[dt.date, dt.date | None] | None:
        for r in self.plan.members:
            if r.key == ref:
                return r.values["joined_on"], r.values["left_on"]
        member = self.members_db.get(ref)
        return (member.joined_on, member.left_on) if member else None

    # --- metering_points.csv ------------------------------------------------------

    def check_ppes(self) -> None:
        table = self.tables.get("metering_points")
        rows = table.rows if table is not None else []
        gminas = {g.terc: g for g in Gmina.objects.filter(terc__in={r.get("gmina_terc", "") for _l, r in rows})}
        # The only look-up across clusters: dates of the same codes elsewhere, never whose they are.
        elsewhere = ppe_codes_other_cluster_periods(
            codes={_ppe_key(r.get("code", "")) for _l, r in rows}, cluster_id=self.cluster.pk,
        ) if rows else {}
        file_refs = self._file_keys("members", "ref")
        for line, row in self._rows("metering_points"):
            self._check_ppe(line, row, file_refs=file_refs, gminas=gminas, elsewhere=elsewhere)

    def _check_ppe(
        self, line: int, row: dict[str, str], *, file_refs: set[str], gminas: dict[str, Gmina], elsewhere: dict[str, list]
    ) -> None:
        before = len(self.problems)
        dso, dso_ok = self._ppe_dso(row)
        checked = self._ppe_code(row, dso)
        member_ref, member_failed = self._ppe_member_ref(row, file_refs)
        gmina = self._ppe_gmina(row, gminas)
        level = self._ppe_voltage(row)
        tariff = self._ppe_tariff(row)
        kw = self.cell(row, "contracted_kw", lambda v: parse_decimal(v, places=2, digits=10), required=True)
        demand = self.cell(row, "annual_demand_kwh", lambda v: parse_decimal(v, places=0, digits=14))
        sample = self.cell(row, "is_sample", parse_bool) or False
        valid_from, valid_to = self._ppe_period(row, member_ref)
        regime, regime_from = self._ppe_regime(row, valid_from, self.ppes_db.get(checked.code) if checked else None)
        code = checked.code if checked is not None else _ppe_key(row.get("code", ""))
        if code and gmina is not None and dso_ok and level in VOLTAGE_LEVELS_BELOW_110KV:
            self.area_rows.append(AreaRow(line, code, gmina, dso, level, self.ppes_db.get(code), valid_to))
        if checked is not None and valid_from is not None:
            self._ppe_clash(row, checked.code, valid_from, valid_to, elsewhere)
        if self._failed(before=before) or checked is None or member_failed:
            return
        # A row without problems has its member's ref, and a start date (its own or, when empty, its member's).
        assert member_ref is not None and valid_from is not None
        values = {
            "is_legacy_code": checked.is_legacy, "gmina": gmina, "dso": dso, "voltage_level": level,
            "tariff_group": tariff, "contracted_kw": kw, "annual_demand_kwh": demand, "address": row.get("address", ""),
            "is_sample": sample,
        }
        ppe_row = PPERow(line, checked.code, values, self.ppes_db.get(checked.code), member_ref=member_ref,
                         valid_from=valid_from, valid_to=valid_to, regime=regime, regime_from=regime_from)
        self._check_transfer(ppe_row)
        self.plan.ppes.append(ppe_row)

    def _ppe_dso(self, row: dict[str, str]) -> tuple[DSO, bool]:
        """The PPE's DSO (the cluster's when the cell is empty) and whether it is the cluster's one."""
        dso_slug = self.cell(row, "dso")
        if not dso_slug:
            return self.cluster.dso, True
        dso = self.dsos.get(dso_slug.lower())
        if dso is None:
            self.error("dso", msg_str(gettext_noop("nieznany OSD „%(v)s”; dozwolone: %(c)s."), v=dso_slug, c=", ".join(self.dsos)))
            return self.cluster.dso, False
        if dso.pk != self.cluster.dso_id:
            self.error(
                "dso",
                msg_str(gettext_noop("PPE jest w sieci %(dso)s, a klaster działa w sieci %(cd)s: wszystkie PPE klastra muszą być przyłączone do sieci jednego OSD (art. 2 pkt 15a i art. 38a ustawy o OZE)."), dso=dso.name, cd=self.cluster.dso.name),
            )
            return dso, False
        return dso, True

    def _ppe_code(self, row: dict[str, str], dso: DSO) -> PPECode | None:
        code = self.cell(row, "code", required=True)
        if not code:
            return None
        try:
            return ppe_code_check(code, dso=dso)
        except ValidationError as exc:
            self.error("code", exc.messages[0])
            return None

    def _ppe_member_ref(self, row: dict[str, str], file_refs: set[str]) -> tuple[str | None, bool]:
        """The member's ref, and whether that member's own row failed (reported there, not repeated here)."""
        member_ref = self.cell(row, "member_ref", required=True)
        if not member_ref or member_ref in self.members_db and member_ref not in file_refs:
            return member_ref, False
        if member_ref in file_refs:
            return member_ref, not any(r.key == member_ref for r in self.plan.members)
        if "members" in self.unreadable:
            return member_ref, True  # members.csv could not be read: whether it is there is not known
        self.error("member_ref", msg_str(gettext_noop("nieznany członek „%(v)s” — nie ma go w members.csv ani w rejestrze klastra."), v=member_ref))
        return member_ref, False

    def _ppe_gmina(self, row: dict[str, str], gminas: dict[str, Gmina]) -> Gmina | None:
        terc = self.cell(row, "gmina_terc", required=True)
        gmina = gminas.get(terc) if terc else None
        if terc and gmina is None:
            self.error("gmina_terc", msg_str(gettext_noop("„%(v)s” nie jest kodem TERC gminy (7 cyfr, np. 2408031 dla Orzesza)."), v=terc))
        return gmina

    def _ppe_voltage(self, row: dict[str, str]) -> str | None:
        level = self.cell(row, "voltage_level", lambda v: parse_choice(v, choices=list(VoltageLevel.values)), required=True)
        if level and level not in {"nN", "SN"}:
            self.error("voltage_level", msg_str(gettext_noop("PPE na poziomie napięcia %(v)s: członkowie klastra przyłączają się do sieci o napięciu znamionowym niższym niż 110 kV — nN lub SN (art. 2 pkt 15a i art. 38a ustawy o OZE)."), v=level))
        return level

    def _ppe_tariff(self, row: dict[str, str]) -> str | None:
        tariff = self.cell(row, "tariff_group", required=True)
        if tariff and not _TARIFF.match(tariff):
            self.error("tariff_group", msg_str(gettext_noop("„%(v)s” nie wygląda na grupę taryfową (np. G11, C21, B23)."), v=tariff))
        return tariff

    def _ppe_period(self, row: dict[str, str], member_ref: str | None) -> tuple[dt.date | None, dt.date | None]:
        """Membership dates: the member's when the cells are empty, never before it joined or after it left."""
        before = len(self.problems)
        valid_from = self.cell(row, "joined_on", parse_date)
        valid_to = self.cell(row, "left_on", parse_date)
        dates = self._member_dates(member_ref) if member_ref else None
        if len(self.problems) > before:
            return None, None
        if dates is None:
            return valid_from, valid_to
        valid_from = valid_from or dates[0]
        if valid_from < dates[0]:
            self.error("joined_on", msg_str(gettext_noop("PPE nie może przystąpić (%(p)s) przed swoim członkiem (%(m)s)."), p=valid_from, m=dates[0]))
        # A PPE's membership ends at the latest when its member leaves.
        if dates[1] and (valid_to is None or valid_to > dates[1]):
            valid_to = dates[1]
        if valid_to and valid_to < valid_from:
            self.error("left_on", msg_str(gettext_noop("data wystąpienia %(l)s jest wcześniejsza niż data przystąpienia %(j)s."), l=valid_to, j=valid_from))
        return valid_from, valid_to

    def _ppe_regime(
        self, row: dict[str, str], valid_from: dt.date | None, existing: MeteringPoint | None
    ) -> tuple[str | None, dt.date | None]:
        """The billing regime (ordinary, net_metering, net_billing) and its first day (the membership's start
        when empty); a regime already recorded from a later day is refused (change the history on the PPE page)."""
        regime = self.cell(row, "billing_regime", parse_regime)
        start = self.cell(row, "billing_regime_from", parse_date)
        if row.get("billing_regime_from") and not row.get("billing_regime"):
            self.error("billing_regime", msg_str(gettext_noop("podaj sposób rozliczenia, od którego dnia obowiązuje.")))
        if regime is None:
            return None, None
        start = start or valid_from
        if start is None:
            return None, None
        if existing is not None:
            later = existing.billing_regimes.filter(valid_from__gt=start).order_by("valid_from").first()
            if later is not None:
                self.error("billing_regime_from", msg_str(gettext_noop(
                    "PPE ma już sposób rozliczenia od %(d)s; nowy musi zacząć się później (wcześniejsze okresy zmień "
                    "na stronie PPE albo w panelu administracyjnym)."), d=later.valid_from))
                return None, None
        return regime, start

    def _ppe_clash(
        self, row: dict[str, str], code: str, valid_from: dt.date, valid_to: dt.date | None, elsewhere: dict[str, list]
    ) -> None:
        """One cluster per PPE code at a time."""
        clashes = periods_overlapping(elsewhere.get(code, []), valid_from=valid_from, valid_to=valid_to)
        if clashes:
            self.error("joined_on" if row.get("joined_on") else "code", ppe_code_clash_message(code=code, periods=clashes))

    def _check_transfer(self, row: PPERow) -> None:
        """A PPE may move to another member only after the previous membership began."""
        if row.existing is None:
            return
        for m in row.existing.memberships.select_related("member"):
            if m.member.ref == row.member_ref:
                continue
            if m.valid_from >= row.valid_from and (row.valid_to is None or row.valid_to >= m.valid_from):
                self.error(
                    "joined_on",
                    msg_str(gettext_noop("PPE %(code)s należy od %(f)s do członka „%(ref)s”; przeniesienie do „%(new)s” musi mieć późniejszą datę przystąpienia."), code=row.key, f=m.valid_from, ref=m.member.ref, new=row.member_ref),
                    line=row.line,
                )

    # --- generators.csv, storage_units.csv -------------------------------------------

    def check_installations(self, kind: str) -> None:
        planned = {r.key: r for r in self.plan.ppes}
        file_codes = self._file_keys("metering_points", "code")
        model = Generator if kind == "generators" else StorageUnit
        target = self.plan.generators if kind == "generators" else self.plan.storage
        for line, row in self._rows(kind):
            before = len(self.problems)
            code, ppe_failed = self._installation_ppe(row, planned=planned, file_codes=file_codes)
            name = self.cell(row, "name", required=True)
            values = self._generator_values(row) if kind == "generators" else self._storage_values(row)
            if self._failed(before=before) or ppe_failed:
                continue
            ppe = planned[code].existing if code in planned else self.ppes_db[code]
            existing = model.objects.filter(ppe=ppe, name=name).first() if ppe is not None else None
            target.append(Row(line, code, {"name": name, **values}, existing))

    def _installation_ppe(self, row: dict[str, str], *, planned: dict[str, PPERow], file_codes: set[str]) -> tuple[str, bool]:
        """The installation's PPE code, and whether that PPE's own row failed (reported there, not repeated here)."""
        code = _ppe_key(self.cell(row, "ppe_code", required=True) or "")
        if not code:
            return code, False
        if code in file_codes:
            return code, code not in planned
        if code in self.ppes_db:
            return code, False
        if "metering_points" in self.unreadable:
            return code, True  # metering_points.csv could not be read: whether it is there is not known
        self.error("ppe_code", msg_str(gettext_noop("nieznany PPE „%(v)s” — nie ma go w metering_points.csv ani w rejestrze klastra."), v=code))
        return code, False

    def _generator_values(self, row: dict[str, str]) -> dict[str, Any]:
        return {
            "source": self.cell(row, "source", lambda v: parse_choice(v, choices=list(Source.values)), required=True),
            "capacity_kw": self.cell(row, "capacity_kw", lambda v: parse_decimal(v, places=3, digits=12), required=True),
            "thermal_kw": self.cell(row, "thermal_kw", lambda v: parse_decimal(v, places=3, digits=12)),
            "biogas_m3_per_year": self.cell(row, "biogas_m3_per_year", lambda v: parse_decimal(v, places=1, digits=14)),
            "commissioned_on": self.cell(row, "commissioned_on", parse_date),
        }

    def _storage_values(self, row: dict[str, str]) -> dict[str, Any]:
        return {
            "power_kw": self.cell(row, "power_kw", lambda v: parse_decimal(v, places=3, digits=12), required=True),
            "capacity_kwh": self.cell(row, "capacity_kwh", lambda v: parse_decimal(v, places=3, digits=12), required=True),
            "efficiency": self.cell(row, "efficiency", parse_percent_fraction) or Decimal("0.900"),
        }

    # --- the area rule on the whole file --------------------------------------------

    def check_area(self) -> None:
        """The area rule on the set the import would leave (art. 2 pkt 15a and art. 38a ustawy o OZE).

        Every PPE row whose gmina, DSO and voltage level are right counts, even when
        another of its cells is wrong, so the rule is checked in the same round as
        the cells; an error is reported on the line of the PPE it names.
        """
        if not self.area_rows:
            return
        today = timezone.localdate()
        candidates: list[PPECandidate] = []
        leaving: list[int] = []
        for row in self.area_rows:
            if row.valid_to is not None and row.valid_to < today:
                if row.existing is not None:
                    leaving.append(row.existing.pk)
                continue
            candidates.append(
                PPECandidate(
                    code=row.code, gmina=row.gmina, dso=row.dso, voltage_level=row.voltage_level,
                    ppe_id=row.existing.pk if row.existing is not None else None,
                )
            )
        result = area_check(cluster=self.cluster, candidates=candidates, exclude_ppe_ids=leaving, on=today)
        file = self.tables["metering_points"].file
        lines = {row.code: row.line for row in self.area_rows}
        for message in result.errors:
            line = next((n for code, n in lines.items() if code in message), None)
            self.problems.append(Problem(file, line, "gmina_terc", message))
