"""Registry: clusters, members, metering points, installations, TERYT, rules.

Models hold invariants and derived values only; writes go through
``members.services`` and reads through ``members.selectors``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.constraints import FieldCheckConstraint, at_least_zero, dated_constraints, ends_after_start
from members.polish import search_text_join
from okeportal.jobs import JobStatus
from okeportal.messages import msg_text


class ClusterKind(models.TextChoices):
    CLUSTER = "cluster", _("Klaster energii")
    COOPERATIVE = "cooperative", _("Spółdzielnia energetyczna")


class LegalForm(models.TextChoices):
    PERSON = "person", _("Osoba fizyczna")
    MICRO = "micro_enterprise", _("Mikroprzedsiębiorca")
    SMALL = "small_enterprise", _("Mały przedsiębiorca")
    MEDIUM = "medium_enterprise", _("Średni przedsiębiorca")
    LARGE = "large_enterprise", _("Duży przedsiębiorca")
    JST = "jst", _("Jednostka samorządu terytorialnego")
    JST_UNIT = "jst_unit", _("Jednostka organizacyjna JST")
    PUBLIC_TRANSPORT = "public_transport", _("Przedsiębiorstwo transportu publicznego")
    COOPERATIVE = "cooperative", _("Spółdzielnia")
    OTHER = "other", _("Inny podmiot")


# Who usually deducts the VAT on its electricity bills (the default of ``Member.deducts_vat``):
# enterprises and cooperatives buy energy for their taxable business and deduct it; a household
# (a natural person) does not. A JST deducts only what serves its taxable activity, so it
# chooses; by default it does not (most of its points supply schools, offices and street
# lighting). An "other" entity (association, foundation, parish, housing community) usually
# is not an active VAT payer: it does not deduct by default.
VAT_DEDUCTING_FORMS = frozenset({
    LegalForm.MICRO, LegalForm.SMALL, LegalForm.MEDIUM, LegalForm.LARGE, LegalForm.PUBLIC_TRANSPORT,
    LegalForm.COOPERATIVE,
})


def vat_deduction_default(legal_form: str) -> bool:
    """Whether a member of ``legal_form`` deducts VAT unless it says otherwise (``VAT_DEDUCTING_FORMS``)."""
    return legal_form in VAT_DEDUCTING_FORMS


class VoltageLevel(models.TextChoices):
    NN_LOW = "nN", _("nN — niskie napięcie (< 1 kV)")
    SN = "SN", _("SN — średnie napięcie (1–110 kV)")
    WN = "WN", _("WN — wysokie napięcie (110 kV)")
    NN_HIGH = "NN", _("NN — najwyższe napięcie (> 110 kV)")


# The area rule (art. 2 pkt 15a ustawy o OZE): members connect "o napięciu
# znamionowym niższym niż 110 kV", i.e. nN or SN.
VOLTAGE_LEVELS_BELOW_110KV = frozenset({VoltageLevel.NN_LOW, VoltageLevel.SN})


class Source(models.TextChoices):
    PV = "pv", _("Fotowoltaika")
    WIND = "wind", _("Wiatr")
    HYDRO = "hydro", _("Woda")
    BIOGAS = "biogas", _("Biogaz")
    BIOMASS = "biomass", _("Biomasa")
    CHP_GAS = "chp_gas", _("Kogeneracja gazowa")
    CONVENTIONAL = "conventional", _("Inne konwencjonalne")
    OTHER_RES = "other_res", _("Inne OZE")


RENEWABLE_SOURCES = frozenset(
    {Source.PV, Source.WIND, Source.HYDRO, Source.BIOGAS, Source.BIOMASS, Source.OTHER_RES}
)


class SearchTextQuerySet(models.QuerySet):
    """Keeps ``search_text`` right on bulk writes too (``bulk_create``, ``bulk_update``, ``update``)."""

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        for obj in objs:
            obj.search_text_refresh()
        if kwargs.get("update_fields") and self.model.search_fields_touched(kwargs["update_fields"]):
            kwargs["update_fields"] = [*kwargs["update_fields"], "search_text"]
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        objs, fields = list(objs), list(fields)
        if self.model.search_fields_touched(fields):
            for obj in objs:
                obj.search_text_refresh()
            fields.append("search_text")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        # bulk_update's own update() carries search_text already.
        if "search_text" in kwargs or not self.model.search_fields_touched(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.values_list("pk", flat=True))
            rows = super().update(**kwargs)
            manager = self.model._default_manager.db_manager(self.db)
            objs = list(manager.filter(pk__in=pks).only("pk", *self.model.SEARCH_FIELDS))
            for obj in objs:
                obj.search_text_refresh()
            manager.bulk_update(objs, ["search_text"], batch_size=1000)
        return rows


class SearchTextMixin:
    """``search_text``: the ``SEARCH_FIELDS`` folded by ``members.polish.polish_fold`` (case and diacritics).

    A derived column, computed only here: on every ``save()`` (with ``update_fields`` it is
    written whenever one of its sources is) and by ``SearchTextQuerySet``'s bulk writes.
    Searches compare a folded query with it (``members.selectors``).
    """

    SEARCH_FIELDS: ClassVar[tuple[str, ...]] = ()
    search_text: str

    @classmethod
    def search_fields_touched(cls, fields: Iterable[str]) -> bool:
        sources = set(cls.SEARCH_FIELDS) | {f"{f}_id" for f in cls.SEARCH_FIELDS}
        return any(f in sources for f in fields)

    def search_text_refresh(self) -> None:
        self.search_text = search_text_join(*(str(getattr(self, f) or "") for f in self.SEARCH_FIELDS))

    def save(self, **kwargs: Any) -> None:
        self.search_text_refresh()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and self.search_fields_touched(update_fields):
            kwargs["update_fields"] = [*update_fields, "search_text"]
        super().save(**kwargs)  # type: ignore[misc]


def _search_text_field() -> models.TextField:
    return models.TextField(_("tekst do wyszukiwania"), blank=True, default="", editable=False)


class Gmina(SearchTextMixin, models.Model):
    """A gmina from TERYT TERC (2026 state), with its neighbours (PRG borders)."""

    terc = models.CharField(_("kod TERC"), max_length=7, primary_key=True)
    name = models.CharField(_("nazwa"), max_length=100)
    type = models.CharField(_("rodzaj"), max_length=40)
    powiat_terc = models.CharField(_("kod powiatu"), max_length=4, db_index=True)
    powiat_name = models.CharField(_("powiat"), max_length=100)
    woj_terc = models.CharField(_("kod województwa"), max_length=2)
    woj_name = models.CharField(_("województwo"), max_length=60)
    neighbours = models.ManyToManyField("self", symmetrical=True, blank=True, verbose_name=_("sąsiednie gminy"))
    # The name folded (members.polish): gmina pickers and the PPE search match by it.
    search_text = _search_text_field()

    SEARCH_FIELDS = ("name",)
    objects = SearchTextQuerySet.as_manager()

    class Meta:
        ordering = ["terc"]
        verbose_name = _("gmina")
        verbose_name_plural = _("gminy")

    def __str__(self) -> str:
        return f"{self.name} ({self.type}, pow. {self.powiat_name}) [{self.terc}]"


class DSO(models.Model):
    """Operator systemu dystrybucyjnego."""

    slug = models.SlugField(_("kod"), max_length=30, unique=True)
    name = models.CharField(_("nazwa"), max_length=120)
    ppe_prefix = models.CharField(
        _("prefiks PPE"),
        max_length=7,
        blank=True,
        help_text=_("590 + numer firmy GS1, np. 5903224 dla Tauron Dystrybucja."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("operator systemu dystrybucyjnego")
        verbose_name_plural = _("operatorzy systemów dystrybucyjnych")

    def __str__(self) -> str:
        return self.name


class Cluster(models.Model):
    kind = models.CharField(_("rodzaj"), max_length=20, choices=ClusterKind.choices, default=ClusterKind.CLUSTER)
    name = models.CharField(_("nazwa"), max_length=200)
    slug = models.SlugField(_("kod"), max_length=60, unique=True)
    dso = models.ForeignKey(DSO, on_delete=models.PROTECT, verbose_name=_("OSD"))
    coordinator_name = models.CharField(_("koordynator"), max_length=200, blank=True)
    coordinator_address = models.CharField(_("adres koordynatora"), max_length=300, blank=True)
    established_on = models.DateField(_("data utworzenia"), null=True, blank=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="clusters",
        verbose_name=_("pracownicy koordynatora"),
    )
    # The URE register of energy clusters (art. 38a ustawy o OZE): support only for a cluster entered in it.
    ure_register_number = models.CharField(_("numer wpisu do rejestru URE"), max_length=60, blank=True)
    ure_register_date = models.DateField(_("data wpisu do rejestru URE"), null=True, blank=True)
    support_start = models.DateField(
        _("początek wsparcia"), null=True, blank=True,
        help_text=_("Pierwszy dzień wsparcia, jeśli późniejszy niż wpis do rejestru (nie wcześniej niż 2 lipca 2024 r.)."),
    )
    history = HistoricalRecords(excluded_fields=["staff"])

    class Meta:
        ordering = ["name"]
        verbose_name = _("klaster")
        verbose_name_plural = _("klastry")

    def __str__(self) -> str:
        return self.name


class Member(SearchTextMixin, models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="members", verbose_name=_("klaster"))
    ref = models.SlugField(_("symbol"), max_length=40, help_text=_("Krótki symbol członka, unikalny w klastrze."))
    name = models.CharField(_("nazwa"), max_length=250)
    legal_form = models.CharField(_("forma prawna"), max_length=30, choices=LegalForm.choices)
    nip = models.CharField("NIP", max_length=10, blank=True)
    regon = models.CharField("REGON", max_length=14, blank=True)
    krs = models.CharField("KRS", max_length=10, blank=True)
    pesel = models.CharField("PESEL", max_length=11, blank=True)
    street = models.CharField(_("ulica i numer"), max_length=200, blank=True)
    postal_code = models.CharField(_("kod pocztowy"), max_length=6, blank=True)
    city = models.CharField(_("miejscowość"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail kontaktowy"), blank=True)
    joined_on = models.DateField(_("data przystąpienia"))
    left_on = models.DateField(_("data wystąpienia"), null=True, blank=True)
    controlled_by_jst = models.BooleanField(
        _("spółka kontrolowana przez JST"),
        default=False,
        help_text=_("Zaznacz dla spółki, nad którą JST sprawuje kontrolę (art. 38a ust. 1a)."),
    )
    # Set on creation from the legal form (``vat_deduction_default``) unless given; statements of a
    # member that does not deduct VAT also show the benefit gross (``reports.engine.money.vat_gross``).
    deducts_vat = models.BooleanField(
        _("odlicza VAT"),
        default=False,
        help_text=_(
            "Czy członek odlicza VAT od faktur za energię. Członkowi, który nie odlicza VAT (gospodarstwo domowe, "
            "JST w działalności niepodlegającej VAT), zestawienie pokazuje korzyść także brutto."
        ),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
        verbose_name=_("konto użytkownika"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Name, symbol, NIP and REGON folded (members.polish): the member list's search.
    search_text = _search_text_field()
    history = HistoricalRecords(excluded_fields=["search_text"])

    SEARCH_FIELDS = ("name", "ref", "nip", "regon")
    objects = SearchTextQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "ref"], name="member_ref_unique_in_cluster"),
            ends_after_start(
                "member", "joined_on", "left_on", _("Data wystąpienia nie może być wcześniejsza niż data przystąpienia.")
            ),
        ]
        verbose_name = _("członek")
        verbose_name_plural = _("członkowie")

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return ", ".join(p for p in [self.street, f"{self.postal_code} {self.city}".strip()] if p)

    def clean(self) -> None:
        super().clean()
        # A member account is a member's alone: never a superuser, never staff of another cluster
        # (a coordinator company that is itself a member may use its staff login for its own cluster).
        if self.user_id is not None and self.cluster_id is not None:
            user = self.user
            if user.is_superuser or user.clusters.exclude(pk=self.cluster_id).exists():
                raise ValidationError(
                    {"user": _("To konto należy do administratora albo do zespołu koordynatora innego klastra: "
                               "nie można go powiązać z członkiem.")}
                )

    @property
    def is_jst_or_controlled(self) -> bool:
        return self.legal_form in (LegalForm.JST, LegalForm.JST_UNIT) or self.controlled_by_jst


class MeteringPoint(SearchTextMixin, models.Model):
    """PPE (punkt poboru energii)."""

    cluster = models.ForeignKey(
        Cluster, on_delete=models.PROTECT, related_name="metering_points", verbose_name=_("klaster")
    )
    code = models.CharField(_("kod PPE"), max_length=40)
    is_legacy_code = models.BooleanField(
        _("kod historyczny"), default=False, help_text=_("Starszy kod nadany przez OSD, nie w formacie GS1 590…")
    )
    is_sample = models.BooleanField(_("dane przykładowe"), default=False)
    address = models.CharField(_("adres"), max_length=300, blank=True)
    gmina = models.ForeignKey(Gmina, on_delete=models.PROTECT, verbose_name=_("gmina"))
    dso = models.ForeignKey(DSO, on_delete=models.PROTECT, verbose_name=_("OSD"))
    voltage_level = models.CharField(_("poziom napięcia"), max_length=2, choices=VoltageLevel.choices)
    tariff_group = models.CharField(_("grupa taryfowa"), max_length=10)
    contracted_kw = models.DecimalField(_("moc umowna [kW]"), max_digits=10, decimal_places=2)
    annual_demand_kwh = models.DecimalField(
        _("deklarowane roczne zużycie [kWh]"), max_digits=14, decimal_places=0, null=True, blank=True,
        help_text=_("Szacunek do czasu zaimportowania danych pomiarowych."),
    )
    # Code and address folded (members.polish): the PPE list's search, with the gmina's own.
    search_text = _search_text_field()
    history = HistoricalRecords(excluded_fields=["search_text"])

    SEARCH_FIELDS = ("code", "address")
    objects = SearchTextQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "code"], name="ppe_code_unique_in_cluster"),
            at_least_zero("meteringpoint", "contracted_kw", _("Moc umowna nie może być ujemna (co najmniej 0 kW).")),
            at_least_zero(
                "meteringpoint", "annual_demand_kwh",
                _("Deklarowane roczne zużycie nie może być ujemne (co najmniej 0 kWh)."), null=True,
            ),
        ]
        verbose_name = _("punkt poboru energii (PPE)")
        verbose_name_plural = _("punkty poboru energii (PPE)")

    def __str__(self) -> str:
        return self.code


class PPEMembership(models.Model):
    """Which member a PPE belonged to, and when (a PPE may move or leave)."""

    ppe = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="memberships", verbose_name="PPE")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="ppe_memberships", verbose_name=_("członek"))
    valid_from = models.DateField(_("od"))
    valid_to = models.DateField(_("do (włącznie)"), null=True, blank=True)
    # The PPE's code, copied so the database can keep a code in one cluster at a
    # time: on PostgreSQL an exclusion constraint (ppe_code =, ppe <>, dates &&),
    # on SQLite a trigger; both vendors fill it by trigger (migration 0002).
    ppe_code = models.CharField(_("kod PPE"), max_length=40, default="", editable=False, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["ppe", "valid_from"]
        constraints = [
            ends_after_start(
                "ppemembership", "valid_from", "valid_to",
                _("Koniec przynależności PPE nie może być wcześniejszy niż jej początek."),
            ),
        ]
        verbose_name = _("przynależność PPE")
        verbose_name_plural = _("przynależność PPE")

    def __str__(self) -> str:
        return f"{self.ppe} → {self.member} ({self.valid_from}–{self.valid_to or '…'})"


class BillingRegime(models.TextChoices):
    """How the DSO bills a PPE's energy: the settlement reads balanced values for the prosumer regimes."""

    ORDINARY = "ordinary", _("zwykły (bez rozliczenia prosumenckiego)")
    NET_METERING = "net_metering", _("prosument – net-metering (opusty)")
    NET_BILLING = "net_billing", _("prosument – net-billing")


PROSUMER_REGIMES = frozenset({BillingRegime.NET_METERING, BillingRegime.NET_BILLING})


class PPEBillingRegime(models.Model):
    """A PPE's billing regime from ``valid_from`` to ``valid_to`` (inclusive; empty: until further notice).

    Days no row covers are ``ordinary``. For the prosumer regimes the settlement
    uses the hourly balanced series ("po zbilansowaniu") of the meter data.
    """

    ppe = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="billing_regimes", verbose_name="PPE")
    regime = models.CharField(_("sposób rozliczenia"), max_length=20, choices=BillingRegime.choices)
    valid_from = models.DateField(_("od"))
    valid_to = models.DateField(_("do (włącznie)"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["ppe", "valid_from"]
        constraints = [*dated_constraints("ppebillingregime", key=("ppe",))]
        verbose_name = _("sposób rozliczenia PPE")
        verbose_name_plural = _("sposoby rozliczenia PPE")

    def __str__(self) -> str:
        return f"{self.ppe} {self.get_regime_display()} ({self.valid_from}–{self.valid_to or '…'})"

    @property
    def is_prosumer(self) -> bool:
        return self.regime in PROSUMER_REGIMES


class Generator(models.Model):
    """Jednostka wytwórcza / instalacja OZE behind a PPE."""

    ppe = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="generators", verbose_name="PPE")
    name = models.CharField(_("nazwa"), max_length=200)
    source = models.CharField(_("źródło"), max_length=20, choices=Source.choices)
    capacity_kw = models.DecimalField(_("moc elektryczna [kW]"), max_digits=12, decimal_places=3)
    thermal_kw = models.DecimalField(_("moc cieplna [kW]"), max_digits=12, decimal_places=3, null=True, blank=True)
    biogas_m3_per_year = models.DecimalField(
        _("roczna wydajność biogazu [m³]"), max_digits=14, decimal_places=1, null=True, blank=True
    )
    commissioned_on = models.DateField(_("data uruchomienia"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["ppe", "name"]
        constraints = [
            at_least_zero("generator", "capacity_kw", _("Moc elektryczna nie może być ujemna (co najmniej 0 kW).")),
            at_least_zero("generator", "thermal_kw", _("Moc cieplna nie może być ujemna (co najmniej 0 kW)."), null=True),
            at_least_zero(
                "generator", "biogas_m3_per_year",
                _("Roczna wydajność biogazu nie może być ujemna (co najmniej 0 m³)."), null=True,
            ),
        ]
        verbose_name = _("jednostka wytwórcza")
        verbose_name_plural = _("jednostki wytwórcze")

    def __str__(self) -> str:
        return self.name

    @property
    def is_renewable(self) -> bool:
        return self.source in RENEWABLE_SOURCES


class StorageUnit(models.Model):
    ppe = models.ForeignKey(MeteringPoint, on_delete=models.CASCADE, related_name="storage_units", verbose_name="PPE")
    name = models.CharField(_("nazwa"), max_length=200)
    power_kw = models.DecimalField(_("moc [kW]"), max_digits=12, decimal_places=3)
    capacity_kwh = models.DecimalField(_("pojemność [kWh]"), max_digits=12, decimal_places=3)
    efficiency = models.DecimalField(
        _("sprawność cyklu"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.900"),
        help_text=_("Sprawność w cyklu ładowanie–rozładowanie, 0–1 (np. 0,90)."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["ppe", "name"]
        constraints = [
            at_least_zero("storageunit", "power_kw", _("Moc magazynu nie może być ujemna (co najmniej 0 kW).")),
            at_least_zero("storageunit", "capacity_kwh", _("Pojemność magazynu nie może być ujemna (co najmniej 0 kWh).")),
            FieldCheckConstraint(
                field="efficiency",
                condition=models.Q(efficiency__gte=Decimal("0.01"), efficiency__lte=1),
                name="storageunit_efficiency_0_1",
                violation_error_message=_("Sprawność cyklu to liczba od 0,01 do 1 (np. 0,90)."),
            ),
        ]
        verbose_name = _("magazyn energii")
        verbose_name_plural = _("magazyny energii")

    def __str__(self) -> str:
        return self.name


class ConditionCode(models.TextChoices):
    RES_SHARE = "res_share", _("Udział OZE w energii wprowadzonej do sieci")
    CAPACITY_MAX = "capacity_max", _("Łączna moc zainstalowana elektryczna")
    DEMAND_COVERAGE = "demand_coverage", _("Pokrycie rocznego zapotrzebowania członków")
    STORAGE_SHARE = "storage_share", _("Moc magazynów względem mocy wytwórczej")
    THERMAL_MAX = "thermal_max", _("Łączna moc cieplna")
    BIOGAS_MAX = "biogas_max", _("Roczna wydajność instalacji biogazu")


class Comparison(models.TextChoices):
    AT_LEAST = "gte", "≥"
    AT_MOST = "lte", "≤"


class ConditionRule(models.Model):
    """A statutory threshold with validity dates (e.g. RES share 30 % → 50 % in 2027)."""

    applies_to = models.CharField(_("dotyczy"), max_length=20, choices=ClusterKind.choices)
    code = models.CharField(_("warunek"), max_length=30, choices=ConditionCode.choices)
    comparison = models.CharField(_("porównanie"), max_length=3, choices=Comparison.choices)
    threshold = models.DecimalField(_("próg"), max_digits=16, decimal_places=4)
    unit = models.CharField(_("jednostka"), max_length=20, help_text=_("%, MW, m³/rok …"))
    valid_from = models.DateField(_("obowiązuje od"))
    valid_to = models.DateField(_("obowiązuje do (włącznie)"), null=True, blank=True)
    legal_basis = models.CharField(_("podstawa prawna"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["applies_to", "code", "valid_from"]
        constraints = [
            *dated_constraints("conditionrule", key=("applies_to", "code")),
            at_least_zero("conditionrule", "threshold", _("Próg warunku nie może być ujemny.")),
        ]
        verbose_name = _("warunek ustawowy")
        verbose_name_plural = _("warunki ustawowe")

    def __str__(self) -> str:
        return f"{self.get_code_display()} {self.get_comparison_display()} {self.threshold} {self.unit} (od {self.valid_from})"


class FullLoadHours(models.Model):
    """Default annual full-load hours per source, for estimates before meter data exists."""

    source = models.CharField(_("źródło"), max_length=20, choices=Source.choices)
    hours = models.DecimalField(_("godziny pracy z mocą zainstalowaną [h/rok]"), max_digits=6, decimal_places=0)
    valid_from = models.DateField(_("obowiązuje od"))
    valid_to = models.DateField(_("obowiązuje do (włącznie)"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["source", "valid_from"]
        constraints = [
            *dated_constraints("fullloadhours", key=("source",)),
            FieldCheckConstraint(
                field="hours",
                condition=models.Q(hours__gte=0, hours__lte=8784),
                name="fullloadhours_hours_0_8784",
                violation_error_message=_("Roczny czas pracy to od 0 do 8784 godzin (liczba godzin roku przestępnego)."),
            ),
        ]
        verbose_name = _("roczny czas pracy źródła")
        verbose_name_plural = _("roczne czasy pracy źródeł")

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.hours} h"


def registry_error_view(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored registry import error (file, row, column, message) with its message in the active language."""
    message = msg_text(stored if "msg" in stored else None, str(stored.get("message") or ""))
    return {"file": stored.get("file") or "", "row": stored.get("row"), "column": stored.get("column") or "",
            "message": message}


class RegistryImport(models.Model):
    """An uploaded registry file set, imported in the background (okeportal.jobs lifecycle)."""

    Status = JobStatus

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="registry_imports")
    # Emptied by the retention sweep (okeportal.jobs.jobs_files_expire); file_removed_at says when.
    file = models.FileField(upload_to="imports/registry/%Y/%m/", blank=True)
    file_name = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # ``message_data``: the outcome as a code with parameters (okeportal.messages), shown in the
    # reader's language; ``message`` keeps its Polish text (admin) and older rows' only text.
    message = models.CharField(max_length=300, blank=True)
    message_data = models.JSONField(null=True, blank=True)
    # The first OKE_REGISTRY_MAX_ERRORS errors; error_count is the total. Each is
    # ``{"file", "row", "column", "msg", "params"}`` (older rows: ``"message"`` text).
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import rejestru")
        verbose_name_plural = _("importy rejestru")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def errors_hidden(self) -> int:
        return max(self.error_count - len(self.errors), 0)

    @property
    def message_text(self) -> str:
        """The outcome in the active language (older rows: their stored text)."""
        return msg_text(self.message_data, self.message)

    @property
    def error_rows(self) -> list[dict[str, Any]]:
        """The stored errors with ``message`` rendered in the active language."""
        return [registry_error_view(e) for e in self.errors or [] if isinstance(e, dict)]


class RegistryAction(models.Model):
    """A coordinator's registry action (leaving, transfer, removal, membership dates), recorded to be undone.

    ``before`` and ``after`` hold exactly the fields the action changed:
    ``{"members": {pk: {"left_on": ...}}, "memberships": {pk: {...} | None}}`` with
    ISO dates; a membership the action created is ``None`` in ``before`` (and the
    whole row in ``after``). An undo restores ``before`` and is itself an action
    (``reversal_of``), written by ``members.services.actions``.
    """

    class Kind(models.TextChoices):
        LEAVE = "leave", _("wystąpienie z klastra")
        TRANSFER = "transfer", _("przeniesienie PPE")
        REMOVE = "remove", _("usunięcie PPE z klastra")
        MEMBERSHIP_DATES = "membership_dates", _("zmiana dat przynależności PPE")

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="registry_actions")
    kind = models.CharField(_("rodzaj"), max_length=20, choices=Kind.choices)
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="registry_actions", verbose_name=_("członek")
    )
    to_member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="registry_actions_received",
        verbose_name=_("nowy członek"),
    )
    ppe = models.ForeignKey(
        MeteringPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="registry_actions", verbose_name="PPE"
    )
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    summary = models.CharField(_("opis"), max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal", verbose_name=_("cofa akcję")
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("akcja w rejestrze")
        verbose_name_plural = _("akcje w rejestrze")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"


class ConsentText(models.Model):
    """A dated version of a text a member confirms: the meter-data authorisation or the privacy notice.

    The version in force for a kind is the one with the latest ``valid_from`` not in the future;
    a newer version in force asks every member to confirm again. Rows are never edited once accepted.
    """

    class Kind(models.TextChoices):
        METER_DATA = "meter_data", _("upoważnienie do pozyskiwania danych pomiarowych")
        PRIVACY = "privacy", _("informacja o przetwarzaniu danych osobowych")

    kind = models.CharField(_("rodzaj"), max_length=20, choices=Kind.choices)
    version = models.CharField(_("wersja"), max_length=20)
    title = models.CharField(_("tytuł"), max_length=200)
    text = models.TextField(_("treść"))
    valid_from = models.DateTimeField(_("obowiązuje od"))

    class Meta:
        ordering = ["kind", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="consent_text_unique_version")]
        verbose_name = _("treść zgody")
        verbose_name_plural = _("treści zgód")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"


class Consent(models.Model):
    """A member's confirmation of one version of a consent text: when and by which account."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents", verbose_name=_("członek"))
    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents", verbose_name=_("treść"))
    accepted_at = models.DateTimeField(_("data potwierdzenia"), default=timezone.now)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("konto")
    )

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [models.UniqueConstraint(fields=["member", "text"], name="consent_unique_member_text")]
        verbose_name = _("zgoda członka")
        verbose_name_plural = _("zgody członków")

    def __str__(self) -> str:
        return f"{self.member} · {self.text}"
