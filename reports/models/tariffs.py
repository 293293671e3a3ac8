"""Tariffs, exempt fees, discount tiers and settlement rules: dated data.

Every row has a validity period; the most specific row in force wins (see
``reports.settlement.selectors``). django-simple-history records who changed what.

The rules a row must keep are declared once, here, as constraints: the database
refuses a negative rate, a percentage outside 0–100, an end before the start and
(PostgreSQL) two rows of the same key in force on the same day from any writer;
the admin, the rates page and ``full_clean`` show the same rule as a Polish message
on the field (``members.constraints``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.constraints import FieldCheckConstraint, at_least_zero, dated_constraints, ends_after_start, percent
from members.models import DSO


class DatedQuerySet(models.QuerySet):
    def in_force(self, start, end=None):
        """Rows whose validity overlaps [start, end] (end inclusive; None = start only)."""
        end = end or start
        return self.filter(valid_from__lte=end).filter(models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=start))


class Dated(models.Model):
    valid_from = models.DateField(_("obowiązuje od"))
    valid_to = models.DateField(_("obowiązuje do (włącznie)"), null=True, blank=True)
    # Where the value comes from (document title, URL, or "przykład z prezentacji koordynatora")
    # and whether it was checked against the issuing authority's own publication. A run that
    # used a row not verified says so (``reports.settlement.selectors.unverified_json``).
    source = models.TextField(
        _("źródło"), blank=True,
        help_text=_("Tytuł dokumentu, adres URL albo „przykład z prezentacji koordynatora”."),
    )
    verified = models.BooleanField(
        _("zweryfikowane"), default=False,
        help_text=_("Wartość sprawdzona w publikacji organu, który ją ustala (URE, minister, OSD)."),
    )

    objects = DatedQuerySet.as_manager()

    class Meta:
        abstract = True


class DistributionRate(Dated):
    """Variable network rate and quality rate, zł/MWh, per DSO, tariff group and time zone.

    An empty DSO or tariff group means "every"; a specific row beats a general one. An
    empty zone is the all-hours (całodobowa) rate; a zone code (``day``, ``night``, …) prices
    only the hours the group's ``TariffZoneHours`` give that zone (zoned groups: G12, C12a, B23).
    """

    dso = models.ForeignKey(DSO, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("OSD (puste = każdy)"))
    tariff_group = models.CharField(_("grupa taryfowa (puste = każda)"), max_length=10, blank=True)
    zone = models.CharField(
        _("strefa czasowa (puste = całodobowa)"), max_length=10, blank=True, default="",
        help_text=_("Kod strefy z godzin stref czasowych grupy, np. day, night, peak. Puste: wszystkie godziny."),
    )
    variable_rate = models.DecimalField(_("stawka zmienna sieciowa [zł/MWh]"), max_digits=10, decimal_places=4)
    quality_rate = models.DecimalField(_("stawka jakościowa [zł/MWh]"), max_digits=10, decimal_places=4)
    history = HistoricalRecords()

    class Meta:
        ordering = ["valid_from", "dso", "tariff_group", "zone"]
        constraints = [
            *dated_constraints("distributionrate", key=("dso", "tariff_group", "zone")),
            at_least_zero("distributionrate", "variable_rate", _("Stawka zmienna sieciowa nie może być ujemna (co najmniej 0 zł/MWh).")),
            at_least_zero("distributionrate", "quality_rate", _("Stawka jakościowa nie może być ujemna (co najmniej 0 zł/MWh).")),
            FieldCheckConstraint(
                field="tariff_group",
                condition=Q(zone="") | ~Q(tariff_group=""),
                name="distributionrate_zone_needs_group",
                violation_error_message=_("Stawka strefowa wymaga grupy taryfowej: strefy ma tylko grupa taryfowa."),
            ),
        ]
        verbose_name = _("stawka dystrybucyjna")
        verbose_name_plural = _("stawki dystrybucyjne")

    def __str__(self) -> str:
        any_dso, any_group = _("każdy OSD"), _("każda grupa")
        group = self.tariff_group or any_group
        if self.zone:
            group = _("%(group)s strefa %(zone)s") % {"group": group, "zone": self.zone}
        return _("%(dso)s / %(group)s: %(variable)s + %(quality)s zł/MWh (od %(start)s)") % {
            "dso": self.dso or any_dso, "group": group,
            "variable": self.variable_rate, "quality": self.quality_rate, "start": self.valid_from,
        }

    def clean(self) -> None:
        """The all-hours rate and zone rates of one DSO and group are not in force on the same day."""
        super().clean()
        if self.valid_from is None:
            return
        others = (
            DistributionRate.objects.filter(dso=self.dso, tariff_group=self.tariff_group)
            .in_force(self.valid_from, self.valid_to or dt.date.max).exclude(pk=self.pk)
        )
        clash = (others.exclude(zone="") if self.zone == "" else others.filter(zone="")).first()
        if clash is not None:
            raise ValidationError({"zone": _(
                "Stawka całodobowa i stawki strefowe tej samej grupy nie mogą obowiązywać tego samego dnia: "
                "w okresie tego wiersza obowiązuje „%(row)s”."
            ) % {"row": clash}})


class DayKind(models.TextChoices):
    """The kinds of day a zone schedule distinguishes; a public holiday is a holiday whatever its weekday."""

    ALL = "all", _("każdy dzień")
    WORKDAY = "workday", _("dzień roboczy (pon.–pt.)")
    SATURDAY = "saturday", _("sobota")
    SUNDAY = "sunday", _("niedziela")
    HOLIDAY = "holiday", _("święto (dzień ustawowo wolny od pracy)")


class TariffZoneHours(Dated):
    """The hours of one time zone of a tariff group: local clock hours [hour_from, hour_to) on the
    days of ``day_kind`` in the months ``month_from``–``month_to`` (wrapping over the new year when
    ``month_from`` > ``month_to``: October–March).

    The rows of a DSO and group in force on a day are its zone schedule: every local hour of
    every kind of day must fall in exactly one zone (``reports.settlement.zones.zone_schedule_problems``).
    An empty DSO means every DSO; a DSO's own rows beat the general ones.
    """

    dso = models.ForeignKey(DSO, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("OSD (puste = każdy)"))
    tariff_group = models.CharField(_("grupa taryfowa"), max_length=10)
    zone = models.CharField(_("strefa czasowa"), max_length=10, help_text=_("Kod strefy, np. day, night, peak."))
    month_from = models.PositiveSmallIntegerField(_("od miesiąca"), default=1)
    month_to = models.PositiveSmallIntegerField(_("do miesiąca (włącznie)"), default=12)
    day_kind = models.CharField(_("rodzaj dnia"), max_length=10, choices=DayKind.choices, default=DayKind.ALL)
    hour_from = models.PositiveSmallIntegerField(_("od godziny"), help_text=_("Czas lokalny, pełna godzina 0–23."))
    hour_to = models.PositiveSmallIntegerField(_("do godziny (bez niej)"), help_text=_("Czas lokalny, 1–24."))
    history = HistoricalRecords()

    class Meta:
        ordering = ["tariff_group", "valid_from", "month_from", "day_kind", "hour_from"]
        constraints = [
            ends_after_start("tariffzonehours", "valid_from", "valid_to"),
            FieldCheckConstraint(
                field="tariff_group", condition=~Q(tariff_group=""), name="tariffzonehours_group_required",
                violation_error_message=_("Godziny strefy wymagają grupy taryfowej."),
            ),
            FieldCheckConstraint(
                field="zone", condition=~Q(zone=""), name="tariffzonehours_zone_required",
                violation_error_message=_("Godziny strefy wymagają kodu strefy."),
            ),
            FieldCheckConstraint(
                field="month_from", condition=Q(month_from__gte=1, month_from__lte=12), name="tariffzonehours_month_from_1_12",
                violation_error_message=_("Miesiąc to liczba od 1 do 12."),
            ),
            FieldCheckConstraint(
                field="month_to", condition=Q(month_to__gte=1, month_to__lte=12), name="tariffzonehours_month_to_1_12",
                violation_error_message=_("Miesiąc to liczba od 1 do 12."),
            ),
            FieldCheckConstraint(
                field="hour_from", condition=Q(hour_from__lte=23), name="tariffzonehours_hour_from_0_23",
                violation_error_message=_("Godzina początku to liczba od 0 do 23."),
            ),
            FieldCheckConstraint(
                field="hour_to", condition=Q(hour_to__gt=F("hour_from"), hour_to__lte=24),
                name="tariffzonehours_hour_to_after_from",
                violation_error_message=_(
                    "Godzina końca musi być późniejsza niż godzina początku i nie większa niż 24 "
                    "(strefę przez północ wpisz jako dwa wiersze, np. 22–24 i 0–6)."
                ),
            ),
        ]
        verbose_name = _("godziny strefy czasowej")
        verbose_name_plural = _("godziny stref czasowych")

    def __str__(self) -> str:
        return _("%(dso)s / %(group)s strefa %(zone)s: %(kind)s, mies. %(m1)s–%(m2)s, godz. %(h1)s–%(h2)s (od %(start)s)") % {
            "dso": self.dso or _("każdy OSD"), "group": self.tariff_group, "zone": self.zone,
            "kind": self.get_day_kind_display(), "m1": self.month_from, "m2": self.month_to,
            "h1": self.hour_from, "h2": self.hour_to, "start": self.valid_from,
        }

    def months(self) -> set[int]:
        if self.month_from <= self.month_to:
            return set(range(self.month_from, self.month_to + 1))
        return set(range(self.month_from, 13)) | set(range(1, self.month_to + 1))

    def clean(self) -> None:
        """No hour of a kind of day in a month is given two zones by rows of the same schedule."""
        super().clean()
        if None in (self.valid_from, self.hour_from, self.hour_to, self.month_from, self.month_to) or not self.tariff_group:
            return
        others = (
            TariffZoneHours.objects.filter(dso=self.dso, tariff_group__iexact=self.tariff_group)
            .in_force(self.valid_from, self.valid_to or dt.date.max).exclude(pk=self.pk)
        )
        kinds = {self.day_kind}
        for other in others:
            other_kinds = {other.day_kind}
            if not (kinds & other_kinds or DayKind.ALL in kinds | other_kinds):
                continue
            if not self.months() & other.months():
                continue
            if max(self.hour_from, other.hour_from) < min(self.hour_to, other.hour_to):
                hour = max(self.hour_from, other.hour_from)
                raise ValidationError({"hour_from": _(
                    "Godzina %(hour)s:00 (%(kind)s) jest już w strefie „%(zone)s” wiersza „%(row)s”: "
                    "każda godzina należy do dokładnie jednej strefy."
                ) % {"hour": hour, "kind": self.get_day_kind_display(), "zone": other.zone, "row": other}})


class FeeCode(models.TextChoices):
    OZE = "oze", _("Opłata OZE")
    COGENERATION = "cogeneration", _("Opłata kogeneracyjna")
    GREEN = "green", _("Zielone certyfikaty")
    BLUE = "blue", _("Błękitne certyfikaty")
    WHITE = "white", _("Białe certyfikaty")
    CAPACITY = "capacity", _("Opłata mocowa")


FEE_ORDER = [FeeCode.OZE, FeeCode.COGENERATION, FeeCode.GREEN, FeeCode.BLUE, FeeCode.WHITE, FeeCode.CAPACITY]


class ExemptFee(Dated):
    """A fee not charged on shared energy; a rate, or an obligation × price."""

    class Mode(models.TextChoices):
        RATE = "rate", _("stawka")
        OBLIGATION = "obligation", _("obowiązek × cena")

    code = models.CharField(_("opłata"), max_length=20, choices=FeeCode.choices)
    mode = models.CharField(_("sposób ustalenia"), max_length=12, choices=Mode.choices, default=Mode.RATE)
    rate = models.DecimalField(_("stawka [zł/MWh]"), max_digits=12, decimal_places=5, null=True, blank=True)
    obligation_pct = models.DecimalField(_("obowiązek [%]"), max_digits=7, decimal_places=4, null=True, blank=True)
    price = models.DecimalField(_("cena [zł/MWh]"), max_digits=12, decimal_places=4, null=True, blank=True)
    applies_to_cluster = models.BooleanField(_("zwolnienie w klastrze"), default=True)
    applies_to_cooperative = models.BooleanField(_("zwolnienie w spółdzielni"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["valid_from", "code"]
        constraints = [
            *dated_constraints("exemptfee", key=("code",)),
            at_least_zero("exemptfee", "rate", _("Stawka opłaty nie może być ujemna (co najmniej 0 zł/MWh)."), null=True),
            percent("exemptfee", "obligation_pct", _("Obowiązek to procent: od 0 do 100 %."), null=True),
            at_least_zero("exemptfee", "price", _("Cena nie może być ujemna (co najmniej 0 zł/MWh)."), null=True),
            FieldCheckConstraint(
                field="rate",
                condition=~Q(mode="rate") | Q(rate__isnull=False),
                name="exemptfee_rate_mode_has_rate",
                violation_error_message=_("Opłata ustalana stawką wymaga stawki [zł/MWh]."),
            ),
            FieldCheckConstraint(
                field="obligation_pct",
                condition=~Q(mode="obligation") | Q(obligation_pct__isnull=False),
                name="exemptfee_obligation_mode_has_obligation",
                violation_error_message=_("Opłata „obowiązek × cena” wymaga obowiązku [%]."),
            ),
            FieldCheckConstraint(
                field="price",
                condition=~Q(mode="obligation") | Q(price__isnull=False),
                name="exemptfee_obligation_mode_has_price",
                violation_error_message=_("Opłata „obowiązek × cena” wymaga ceny [zł/MWh]."),
            ),
        ]
        verbose_name = _("opłata zwolniona")
        verbose_name_plural = _("opłaty zwolnione")

    def __str__(self) -> str:
        return _("%(fee)s: %(rate)s zł/MWh (od %(start)s)") % {
            "fee": self.get_code_display(), "rate": self.effective_rate, "start": self.valid_from,
        }

    @property
    def effective_rate(self) -> Decimal:
        """zł/MWh. Obligation × price is kept unrounded (the seed's totals use 2.3515, 1.50135)."""
        if self.mode == self.Mode.OBLIGATION:
            return (self.obligation_pct or Decimal(0)) / Decimal(100) * (self.price or Decimal(0))
        return self.rate or Decimal(0)


class DiscountTier(Dated):
    """Autoconsumption threshold → discount on variable + quality rate."""

    threshold_pct = models.DecimalField(_("próg autokonsumpcji [%]"), max_digits=6, decimal_places=2)
    discount_pct = models.DecimalField(_("upust [%]"), max_digits=6, decimal_places=2)
    history = HistoricalRecords()

    class Meta:
        ordering = ["valid_from", "threshold_pct"]
        constraints = [
            # One discount per threshold on any day; tiers with different thresholds apply side by side.
            *dated_constraints("discounttier", key=("threshold_pct",)),
            percent("discounttier", "threshold_pct", _("Próg autokonsumpcji to procent: od 0 do 100 %.")),
            percent("discounttier", "discount_pct", _("Upust to procent: od 0 do 100 %.")),
        ]
        verbose_name = _("próg upustu")
        verbose_name_plural = _("progi upustów")

    def __str__(self) -> str:
        return f"≥ {self.threshold_pct} % → {self.discount_pct} % (od {self.valid_from})"


class LevelNumerator(models.TextChoices):
    ALL_SOURCES = "all_sources", _("wszystkie źródła członków")
    RENEWABLE = "renewable", _("tylko OZE")


class LevelPeriod(models.TextChoices):
    """The period over which the autoconsumption level and the discount tier are evaluated."""

    MONTH = "month", _("okres rozliczeniowy OSD (miesiąc)")
    YEAR = "year", _("rok kalendarzowy")


class NettingPeriod(models.TextChoices):
    MONTH = "month", _("miesiąc")
    YEAR = "year", _("rok")


class SettlementRule(Dated):
    """Scalar rules: end of the exemptions, cooperative coefficient, completeness gate."""

    exemption_end_date = models.DateField(_("koniec zwolnień"), help_text=_("Do 31.12.2029 r. (art. 38c)."))
    cooperative_coefficient = models.DecimalField(
        _("współczynnik rozliczenia spółdzielni"), max_digits=5, decimal_places=3, default=Decimal("0.600")
    )
    completeness_gate_pct = models.DecimalField(
        _("wymagana kompletność danych [%]"), max_digits=5, decimal_places=2, default=Decimal("99.00")
    )
    storage_price_spread = models.DecimalField(
        _("różnica cen energii dla magazynowania [zł/MWh]"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("180.00"),
        help_text=_("Wartość przesunięcia energii z godzin tanich do drogich w symulacji magazynów."),
    )
    support_earliest = models.DateField(
        _("najwcześniejszy początek wsparcia"), default=dt.date(2024, 7, 2),
        help_text=_("Wsparcie klastrów energii (art. 184k ustawy o OZE) przysługuje najwcześniej od tego dnia."),
    )
    level_numerator = models.CharField(
        _("licznik poziomu autokonsumpcji"), max_length=16, choices=LevelNumerator.choices,
        default=LevelNumerator.ALL_SOURCES,
        help_text=_(
            "Co liczy poziom autokonsumpcji, od którego zależy próg upustu: pokrycie potrzeb członków energią "
            "ze wszystkich ich źródeł wytwórczych (definicja klastra) albo tylko z OZE. Zwolnienia z opłat "
            "zawsze liczone są od energii z OZE."
        ),
    )
    evaluation_period = models.CharField(
        _("okres oceny poziomu autokonsumpcji"), max_length=8, choices=LevelPeriod.choices,
        default=LevelPeriod.MONTH,
        help_text=_(
            "Za jaki okres ocenia się poziom autokonsumpcji i próg upustu: okres rozliczeniowy OSD (miesiąc; "
            "domyślnie) albo rok kalendarzowy. Przy ocenie rocznej rozliczenia miesięczne są wstępne, a zestawienie "
            "roczne zawiera korekty: korzyść za rok minus kwoty z zestawień miesięcznych."
        ),
    )
    cooperative_netting_period = models.CharField(
        _("okres rozliczenia nadwyżek spółdzielni"), max_length=8, choices=NettingPeriod.choices,
        default=NettingPeriod.MONTH,
        help_text=_("Okres, w którym nadwyżki godzinowe są rozliczane z niedoborami (art. 38e ustawy o OZE)."),
    )
    cooperative_carry_months = models.PositiveSmallIntegerField(
        _("przenoszenie nadwyżek spółdzielni [miesiące]"), default=12,
        help_text=_("Przez ile miesięcy niewykorzystana nadwyżka może być rozliczona w kolejnych okresach."),
    )
    # The basic VAT rate on electricity and distribution services: 23 % (ustawa o podatku od towarów
    # i usług, art. 41 ust. 1 in connection with art. 146ef ust. 1 pkt 1). Rates and fees are net; a
    # member that does not deduct VAT sees the benefit gross at this rate (docs/domain.md, "Money").
    vat_rate_pct = models.DecimalField(
        _("stawka VAT [%]"), max_digits=5, decimal_places=2, default=Decimal("23.00"),
        help_text=_(
            "Podstawowa stawka VAT od energii elektrycznej i usług dystrybucji (23 %: art. 41 ust. 1 w zw. z "
            "art. 146ef ust. 1 pkt 1 ustawy o podatku od towarów i usług). Służy do kwot brutto dla członków, "
            "którzy nie odliczają VAT."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["valid_from"]
        constraints = [
            # One set of rules at a time.
            *dated_constraints("settlementrule", key=()),
            FieldCheckConstraint(
                field="cooperative_coefficient",
                condition=Q(cooperative_coefficient__gt=0, cooperative_coefficient__lte=1),
                name="settlementrule_cooperative_coefficient_0_1",
                violation_error_message=_("Współczynnik musi być większy od 0 i nie większy niż 1."),
            ),
            percent(
                "settlementrule", "completeness_gate_pct", _("Wymagana kompletność danych to procent: od 0 do 100 %.")
            ),
            at_least_zero(
                "settlementrule", "storage_price_spread",
                _("Różnica cen energii nie może być ujemna (co najmniej 0 zł/MWh)."),
            ),
            percent("settlementrule", "vat_rate_pct", _("Stawka VAT to procent: od 0 do 100 %.")),
        ]
        verbose_name = _("zasady rozliczenia")
        verbose_name_plural = _("zasady rozliczenia")

    def __str__(self) -> str:
        return _(
            "Zasady rozliczenia (od %(start)s): poziom autokonsumpcji — %(numerator)s, oceniany za: %(period)s; "
            "VAT %(vat)s %%"
        ) % {
            "start": self.valid_from, "numerator": self.get_level_numerator_display(),
            "period": self.get_evaluation_period_display(), "vat": self.vat_rate_pct,
        }


class RateUse(models.Model):
    """A dated row (rate, fee, tier or rule) that a settlement run used.

    Filled when a run is published (``reports.settlement.tariffs.rate_uses_record``) from
    the ids in its snapshot. A used row is immutable: it can only be ended and followed
    by a new row ("nowa wartość od dnia"), never edited or deleted.
    """

    class Kind(models.TextChoices):
        RATE = "rate", _("stawka dystrybucyjna")
        FEE = "fee", _("opłata zwolniona")
        TIER = "tier", _("próg upustu")
        RULE = "rule", _("zasady rozliczenia")
        ZONE = "zone", _("godziny strefy czasowej")

    run = models.ForeignKey("reports.SettlementRun", on_delete=models.CASCADE, related_name="rate_uses")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    row_id = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "kind", "row_id"], name="rate_use_unique")]
        indexes = [models.Index(fields=["kind", "row_id"])]
        verbose_name = _("użycie stawki w rozliczeniu")
        verbose_name_plural = _("użycia stawek w rozliczeniach")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.row_id} → {self.run_id}"
