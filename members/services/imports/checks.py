"""Validate every row of every file into a ``Plan``; nothing is written here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from stdnum.pl import nip, pesel, regon

from members.models import (
    DSO,
    Cluster,
    Generator,
    Gmina,
    LegalForm,
    Member,
    MeteringPoint,
    Source,
    StorageUnit,
    VoltageLevel,
)
from members.services.imports.cells import (
    CellError,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_percent_fraction,
)
from members.services.imports.sources import Problem, Table
from members.services.memberships import (
    periods_overlapping,
    ppe_code_clash_message,
    ppe_codes_other_cluster_periods,
)
from members.services.validators import member_identifiers_validate, ppe_code_check

# column → required
COLUMNS: dict[str, dict[str, bool]] = {
    "members": {
        "ref": True, "name": True, "legal_form": True, "nip": False, "regon": False, "krs": False, "pesel": False,
        "street": False, "postal_code": False, "city": False, "email": False, "joined_on": True, "left_on": False,
        "controlled_by_jst": False,
    },
    "metering_points": {
        "code": True, "member_ref": True, "gmina_terc": True, "dso": False, "voltage_level": True,
        "tariff_group": True, "contracted_kw": True, "joined_on": False, "left_on": False,
        "annual_demand_kwh": False, "address": False, "is_sample": False,
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


@dataclass
class PPERow(Row):
    member_ref: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


@dataclass
class Plan:
    members: list[Row] = field(default_factory=list)
    ppes: list[PPERow] = field(default_factory=list)
    generators: list[Row] = field(default_factory=list)
    storage: list[Row] = field(default_factory=list)


class Checker:
    def __init__(self, *, cluster: Cluster, tables: dict[str, Table]) -> None:
        self.cluster = cluster
        self.tables = tables
        self.problems: list[Problem] = []
        self.plan = Plan()
        self.dsos = {d.slug: d for d in DSO.objects.all()}
        self.members_db = {m.ref: m for m in Member.objects.filter(cluster=cluster)}
        self.ppes_db = {p.code: p for p in MeteringPoint.objects.filter(cluster=cluster).select_related("gmina", "dso")}
        self.file = ""
        self.line = 0

    # --- helpers ------------------------------------------------------------

    def error(self, column: str, message: str, *, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, self.line if line is None else line, column, message))

    def cell(self, row: dict[str, str], column: str, parse: Callable[[str], Any] | None = None, *, required: bool = False) -> Any:
        value = row.get(column, "")
        if not value:
            if required:
                self.error(column, _("wartość jest wymagana."))
            return None
        if parse is None:
            return value
        try:
            return parse(value)
        except CellError as exc:
            self.error(column, str(exc))
            return None

    def _header_ok(self, kind: str, table: Table) -> bool:
        spec = COLUMNS[kind]
        ok = True
        for column in table.columns:
            if column not in spec:
                self.problems.append(
                    Problem(table.file, 1, column, _("nieznana kolumna; dozwolone: %(c)s.") % {"c": ", ".join(spec)})
                )
                ok = False
        for column, required in spec.items():
            if required and column not in table.columns:
                self.problems.append(Problem(table.file, 1, column, _("brak wymaganej kolumny.")))
                ok = False
        return ok

    def _rows(self, kind: str):
        table = self.tables.get(kind)
        if table is None or not self._header_ok(kind, table):
            return
        self.file = table.file
        seen: dict[str, int] = {}
        key_column = {"members": "ref", "metering_points": "code"}.get(kind)
        for line, row in table.rows:
            self.line = line
            if key_column:
                key = row.get(key_column, "").replace(" ", "").upper() if kind == "metering_points" else row.get(key_column, "")
            else:
                key = f"{row.get('ppe_code', '').replace(' ', '').upper()}|{row.get('name', '')}"
            if key.strip("|") and key in seen:
                self.error(
                    key_column or "name",
                    _("powtórzony %(what)s „%(key)s” (pierwszy raz w wierszu %(first)s).")
                    % {"what": key_column or _("obiekt (ppe_code + name)"), "key": key.replace("|", " / "), "first": seen[key]},
                )
                continue
            seen[key] = line
            yield line, row

    # --- files ----------------------------------------------------------------

    def run(self) -> Plan:
        self.check_members()
        self.check_ppes()
        self.check_installations("generators")
        self.check_installations("storage_units")
        return self.plan

    def check_members(self) -> None:
        for line, row in self._rows("members"):
            before = len(self.problems)
            ref = self.cell(row, "ref", required=True)
            if ref and not _REF.match(ref):
                self.error("ref", _("symbol „%(v)s”: tylko litery bez polskich znaków, cyfry, „-” i „_”, do 40 znaków.") % {"v": ref})
            name = self.cell(row, "name", required=True)
            if name and len(name) > 250:
                self.error("name", _("nazwa jest dłuższa niż 250 znaków."))
            form = self.cell(row, "legal_form", lambda v: parse_choice(v, choices=list(LegalForm.values)), required=True)
            ids = {k: row.get(k, "") for k in ("nip", "regon", "krs", "pesel")}
            if form:
                for column, messages in member_identifiers_validate(legal_form=form, **ids).items():
                    for message in messages:
                        self.error(column, message)
            postal = self.cell(row, "postal_code")
            if postal:
                m = _POSTAL.match(postal)
                if m:
                    postal = f"{m[1]}-{m[2]}"
                else:
                    self.error("postal_code", _("„%(v)s”: kod pocztowy ma postać 00-000.") % {"v": postal})
            email = self.cell(row, "email")
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    self.error("email", _("„%(v)s” nie jest prawidłowym adresem e-mail.") % {"v": email})
            joined = self.cell(row, "joined_on", parse_date, required=True)
            left = self.cell(row, "left_on", parse_date)
            if joined and left and left < joined:
                self.error("left_on", _("data wystąpienia %(l)s jest wcześniejsza niż data przystąpienia %(j)s.") % {"l": left, "j": joined})
            jst = self.cell(row, "controlled_by_jst", parse_bool) or False
            if len(self.problems) > before:
                continue
            values = {
                "name": name, "legal_form": form, "street": row.get("street", ""), "postal_code": postal or "",
                "city": row.get("city", ""), "email": email or "", "joined_on": joined, "left_on": left,
                "controlled_by_jst": jst,
                "nip": nip.compact(ids["nip"]) if ids["nip"] else "",
                "regon": regon.compact(ids["regon"]) if ids["regon"] else "",
                "krs": ids["krs"].replace(" ", "").zfill(10) if ids["krs"] else "",
                "pesel": pesel.compact(ids["pesel"]) if ids["pesel"] else "",
            }
            self.plan.members.append(Row(line, ref, values, self.members_db.get(ref)))

    def _member_dates(self, ref: str) -> tuple[dt.date, dt.date | None] | None:
        for r in self.plan.members:
            if r.key == ref:
                return r.values["joined_on"], r.values["left_on"]
        member = self.members_db.get(ref)
        return (member.joined_on, member.left_on) if member else None

    def check_ppes(self) -> None:
        file_refs = {r.get("ref", "") for _line, r in (self.tables["members"].rows if "members" in self.tables else [])}
        gminas = {g.terc: g for g in Gmina.objects.filter(terc__in={r.get("gmina_terc", "") for _l, r in self.tables["metering_points"].rows})} if "metering_points" in self.tables else {}
        # The only look-up across clusters: dates of the same codes elsewhere, never whose they are.
        elsewhere = ppe_codes_other_cluster_periods(
            codes={r.get("code", "").replace(" ", "").upper() for _l, r in self.tables["metering_points"].rows},
            cluster_id=self.cluster.pk,
        ) if "metering_points" in self.tables else {}
        for line, row in self._rows("metering_points"):
            before = len(self.problems)
            dependent_failed = False
            dso_slug = self.cell(row, "dso")
            dso = self.cluster.dso
            if dso_slug:
                dso = self.dsos.get(dso_slug.lower())
                if dso is None:
                    self.error("dso", _("nieznany OSD „%(v)s”; dozwolone: %(c)s.") % {"v": dso_slug, "c": ", ".join(self.dsos)})
                    dso = self.cluster.dso
                elif dso.pk != self.cluster.dso_id:
                    self.error(
                        "dso",
                        _("PPE jest w sieci %(dso)s, a klaster działa w sieci %(cd)s: wszystkie PPE klastra muszą być przyłączone do sieci jednego OSD (art. 38a Prawa energetycznego).")
                        % {"dso": dso.name, "cd": self.cluster.dso.name},
                    )
            code = self.cell(row, "code", required=True)
            checked = None
            if code:
                try:
                    checked = ppe_code_check(code, dso=dso)
                except ValidationError as exc:
                    self.error("code", exc.messages[0])
            member_ref = self.cell(row, "member_ref", required=True)
            if member_ref and member_ref not in file_refs and member_ref not in self.members_db:
                self.error("member_ref", _("nieznany członek „%(v)s” — nie ma go w members.csv ani w rejestrze klastra.") % {"v": member_ref})
            elif member_ref and member_ref in file_refs and not any(r.key == member_ref for r in self.plan.members):
                dependent_failed = True  # its member row is reported already; don't repeat it here
            terc = self.cell(row, "gmina_terc", required=True)
            gmina = gminas.get(terc) if terc else None
            if terc and gmina is None:
                self.error("gmina_terc", _("„%(v)s” nie jest kodem TERC gminy (7 cyfr, np. 2408031 dla Orzesza).") % {"v": terc})
            level = self.cell(row, "voltage_level", lambda v: parse_choice(v, choices=list(VoltageLevel.values)), required=True)
            if level and level not in {"nN", "SN"}:
                self.error("voltage_level", _("PPE na poziomie napięcia %(v)s: członkowie klastra przyłączają się do sieci o napięciu znamionowym niższym niż 110 kV — nN lub SN (art. 38a Prawa energetycznego).") % {"v": level})
            tariff = self.cell(row, "tariff_group", required=True)
            if tariff and not _TARIFF.match(tariff):
                self.error("tariff_group", _("„%(v)s” nie wygląda na grupę taryfową (np. G11, C21, B23).") % {"v": tariff})
            kw = self.cell(row, "contracted_kw", lambda v: parse_decimal(v, places=2, digits=10), required=True)
            demand = self.cell(row, "annual_demand_kwh", lambda v: parse_decimal(v, places=0, digits=14))
            sample = self.cell(row, "is_sample", parse_bool) or False
            valid_from = self.cell(row, "joined_on", parse_date)
            valid_to = self.cell(row, "left_on", parse_date)
            dates = self._member_dates(member_ref) if member_ref else None
            if dates and len(self.problems) == before:
                valid_from = valid_from or dates[0]
                if valid_from < dates[0]:
                    self.error("joined_on", _("PPE nie może przystąpić (%(p)s) przed swoim członkiem (%(m)s).") % {"p": valid_from, "m": dates[0]})
                # A PPE's membership ends at the latest when its member leaves.
                if dates[1] and (valid_to is None or valid_to > dates[1]):
                    valid_to = dates[1]
                if valid_to and valid_to < valid_from:
                    self.error("left_on", _("data wystąpienia %(l)s jest wcześniejsza niż data przystąpienia %(j)s.") % {"l": valid_to, "j": valid_from})
            if checked is not None and valid_from is not None and len(self.problems) == before:
                clashes = periods_overlapping(elsewhere.get(checked.code, []), valid_from=valid_from, valid_to=valid_to)
                if clashes:
                    self.error("joined_on" if row.get("joined_on") else "code", ppe_code_clash_message(code=checked.code, periods=clashes))
            if len(self.problems) > before or checked is None or dependent_failed:
                continue
            values = {
                "is_legacy_code": checked.is_legacy, "gmina": gmina, "dso": dso, "voltage_level": level,
                "tariff_group": tariff, "contracted_kw": kw, "annual_demand_kwh": demand, "address": row.get("address", ""),
                "is_sample": sample,
            }
            ppe_row = PPERow(line, checked.code, values, self.ppes_db.get(checked.code), member_ref=member_ref, valid_from=valid_from, valid_to=valid_to)
            self._check_transfer(ppe_row)
            self.plan.ppes.append(ppe_row)

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
                    _("PPE %(code)s należy od %(f)s do członka „%(ref)s”; przeniesienie do „%(new)s” musi mieć późniejszą datę przystąpienia.")
                    % {"code": row.key, "f": m.valid_from, "ref": m.member.ref, "new": row.member_ref},
                    line=row.line,
                )

    def check_installations(self, kind: str) -> None:
        planned = {r.key: r for r in self.plan.ppes}
        file_codes = {r.get("code", "").replace(" ", "").upper() for _l, r in (self.tables["metering_points"].rows if "metering_points" in self.tables else [])}
        model = Generator if kind == "generators" else StorageUnit
        for line, row in self._rows(kind):
            before = len(self.problems)
            dependent_failed = False
            code = (self.cell(row, "ppe_code", required=True) or "").replace(" ", "").upper()
            if code and code not in file_codes and code not in self.ppes_db:
                self.error("ppe_code", _("nieznany PPE „%(v)s” — nie ma go w metering_points.csv ani w rejestrze klastra.") % {"v": code})
            elif code in file_codes and code not in planned:
                dependent_failed = True  # the PPE row is reported already
            name = self.cell(row, "name", required=True)
            if kind == "generators":
                values = {
                    "source": self.cell(row, "source", lambda v: parse_choice(v, choices=list(Source.values)), required=True),
                    "capacity_kw": self.cell(row, "capacity_kw", lambda v: parse_decimal(v, places=3, digits=12), required=True),
                    "thermal_kw": self.cell(row, "thermal_kw", lambda v: parse_decimal(v, places=3, digits=12)),
                    "biogas_m3_per_year": self.cell(row, "biogas_m3_per_year", lambda v: parse_decimal(v, places=1, digits=14)),
                    "commissioned_on": self.cell(row, "commissioned_on", parse_date),
                }
            else:
                values = {
                    "power_kw": self.cell(row, "power_kw", lambda v: parse_decimal(v, places=3, digits=12), required=True),
                    "capacity_kwh": self.cell(row, "capacity_kwh", lambda v: parse_decimal(v, places=3, digits=12), required=True),
                    "efficiency": self.cell(row, "efficiency", parse_percent_fraction) or Decimal("0.900"),
                }
            if len(self.problems) > before or dependent_failed:
                continue
            ppe = planned[code].existing if code in planned else self.ppes_db[code]
            existing = model.objects.filter(ppe=ppe, name=name).first() if ppe is not None else None
            target = self.plan.generators if kind == "generators" else self.plan.storage
            target.append(Row(line, code, {"name": name, **values}, existing))
