"""factory_boy factories shared by all tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from stdnum import ean

from members.models import (
    DSO,
    Cluster,
    Generator,
    Gmina,
    LegalForm,
    Member,
    MeteringPoint,
    PPEMembership,
    Source,
    StorageUnit,
    VoltageLevel,
    vat_deduction_default,
)

TAURON_PREFIX = "5903224"


def ppe_code(serial: int, prefix: str = TAURON_PREFIX) -> str:
    """A valid 18-digit GS1 PPE code: prefix + serial + mod-10 check digit."""
    body = f"{prefix}{serial:0{17 - len(prefix)}d}"
    return body + ean.calc_check_digit(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.pl")
    password = factory.PostGenerationMethodCall("set_password", "haslo-testowe-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class DSOFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DSO
        django_get_or_create = ("slug",)

    slug = "tauron"
    name = "Tauron Dystrybucja S.A."
    ppe_prefix = TAURON_PREFIX


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"Klaster testowy {n}")
    slug = factory.Sequence(lambda n: f"klaster-{n}")
    dso = factory.SubFactory(DSOFactory)
    coordinator_name = "Klastry Energii sp. z o.o."
    coordinator_address = "ul. Powstańców Śląskich 1, 43-190 Mikołów"
    # Entered in the URE register (a test number) from the first day of support.
    ure_register_number = "KE/TEST/2024"
    ure_register_date = dt.date(2024, 7, 2)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    cluster = factory.SubFactory(ClusterFactory)
    ref = factory.Sequence(lambda n: f"m{n}")
    name = factory.Sequence(lambda n: f"Członek {n} sp. z o.o.")
    legal_form = LegalForm.SMALL
    nip = "5213017228"
    street = "ul. Gliwicka 7"
    postal_code = "43-180"
    city = "Orzesze"
    email = factory.LazyAttribute(lambda o: f"{o.ref}@example.pl")
    joined_on = dt.date(2024, 1, 1)
    deducts_vat = factory.LazyAttribute(lambda o: vat_deduction_default(o.legal_form))


class MeteringPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeteringPoint

    cluster = factory.SubFactory(ClusterFactory)
    code = factory.Sequence(lambda n: ppe_code(n + 1))
    gmina = factory.LazyFunction(lambda: Gmina.objects.get(terc="2408031"))  # Orzesze
    dso = factory.LazyAttribute(lambda o: o.cluster.dso)
    voltage_level = VoltageLevel.NN_LOW
    tariff_group = "C11"
    contracted_kw = Decimal("40.00")


class PPEMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PPEMembership

    ppe = factory.SubFactory(MeteringPointFactory)
    member = factory.SubFactory(MemberFactory)
    valid_from = dt.date(2024, 1, 1)


class GeneratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generator

    ppe = factory.SubFactory(MeteringPointFactory)
    name = factory.Sequence(lambda n: f"PV {n}")
    source = Source.PV
    capacity_kw = Decimal("50.000")


class StorageUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StorageUnit

    ppe = factory.SubFactory(MeteringPointFactory)
    name = factory.Sequence(lambda n: f"Magazyn {n}")
    power_kw = Decimal("10.000")
    capacity_kwh = Decimal("20.000")
    efficiency = Decimal("0.900")
