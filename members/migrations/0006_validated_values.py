"""The registry's value rules in the database.

Check constraints: capacities, powers, demand and thresholds not negative, storage
efficiency 0.01–1, full-load hours 0–8784, every end date not before its start (members'
leaving, PPE memberships, statutory conditions, full-load hours); on PostgreSQL no two
conditions of the same kind and code, or full-load hours of the same source, in force on
one day (``members.constraints.ValidityOverlapConstraint``, btree_gist from 0002). The
fields' validators are dropped: the constraints say the same and forms show their messages.

SQLite rebuilds a table to add a constraint, which drops the table's triggers and
fails while another table's trigger names it: the triggers of 0002 (a PPE code in one
cluster at a time, the code copied to memberships) are dropped before the rebuilds and
created again after them, in both directions.
"""

import importlib
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

import members.constraints

_ONE_CLUSTER = importlib.import_module("members.migrations.0002_registry_job_ppe_code")


def sqlite_triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in _ONE_CLUSTER.SQLITE_BACKWARD:
            schema_editor.execute(statement)


def sqlite_triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*_ONE_CLUSTER.SQLITE_BACKWARD, *_ONE_CLUSTER.SQLITE_FORWARD]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0007_registry_import_message_data'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sqlite_triggers_drop, sqlite_triggers_create),
        migrations.AlterField(
            model_name='generator',
            name='biogas_m3_per_year',
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=14, null=True, verbose_name='roczna wydajność biogazu [m³]'),
        ),
        migrations.AlterField(
            model_name='generator',
            name='capacity_kw',
            field=models.DecimalField(decimal_places=3, max_digits=12, verbose_name='moc elektryczna [kW]'),
        ),
        migrations.AlterField(
            model_name='generator',
            name='thermal_kw',
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=12, null=True, verbose_name='moc cieplna [kW]'),
        ),
        migrations.AlterField(
            model_name='historicalgenerator',
            name='biogas_m3_per_year',
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=14, null=True, verbose_name='roczna wydajność biogazu [m³]'),
        ),
        migrations.AlterField(
            model_name='historicalgenerator',
            name='capacity_kw',
            field=models.DecimalField(decimal_places=3, max_digits=12, verbose_name='moc elektryczna [kW]'),
        ),
        migrations.AlterField(
            model_name='historicalgenerator',
            name='thermal_kw',
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=12, null=True, verbose_name='moc cieplna [kW]'),
        ),
        migrations.AlterField(
            model_name='historicalmeteringpoint',
            name='annual_demand_kwh',
            field=models.DecimalField(blank=True, decimal_places=0, help_text='Szacunek do czasu zaimportowania danych pomiarowych.', max_digits=14, null=True, verbose_name='deklarowane roczne zużycie [kWh]'),
        ),
        migrations.AlterField(
            model_name='historicalmeteringpoint',
            name='contracted_kw',
            field=models.DecimalField(decimal_places=2, max_digits=10, verbose_name='moc umowna [kW]'),
        ),
        migrations.AlterField(
            model_name='historicalstorageunit',
            name='capacity_kwh',
            field=models.DecimalField(decimal_places=3, max_digits=12, verbose_name='pojemność [kWh]'),
        ),
        migrations.AlterField(
            model_name='historicalstorageunit',
            name='efficiency',
            field=models.DecimalField(decimal_places=3, default=Decimal('0.900'), help_text='Sprawność w cyklu ładowanie–rozładowanie, 0–1 (np. 0,90).', max_digits=4, verbose_name='sprawność cyklu'),
        ),
        migrations.AlterField(
            model_name='historicalstorageunit',
            name='power_kw',
            field=models.DecimalField(decimal_places=3, max_digits=12, verbose_name='moc [kW]'),
        ),
        migrations.AlterField(
            model_name='meteringpoint',
            name='annual_demand_kwh',
            field=models.DecimalField(blank=True, decimal_places=0, help_text='Szacunek do czasu zaimportowania danych pomiarowych.', max_digits=14, null=True, verbose_name='deklarowane roczne zużycie [kWh]'),
        ),
        migrations.AlterField(
            model_name='meteringpoint',
            name='contracted_kw',
            field=models.DecimalField(decimal_places=2, max_digits=10, verbose_name='moc umowna [kW]'),
        ),
        migrations.AlterField(
            model_name='storageunit',
            name='capacity_kwh',
            field=models.DecimalField(decimal_places=3, max_digits=12, verbose_name='pojemność [kWh]'),
        ),
        migrations.AlterField(
            model_name='storageunit',
            name='efficiency',
            field=models.DecimalField(decimal_places=3, default=Decimal('0.900'), help_text='Sprawność w cyklu ładowanie–rozładowanie, 0–1 (np. 0,90).', max_digits=4, verbose_name='sprawność cyklu'),
        ),
        migrations.AlterField(
            model_name='storageunit',
            name='power_kw',
            field=models.DecimalField(decimal_places=3, max_digits=12, verbose_name='moc [kW]'),
        ),
        migrations.AddConstraint(
            model_name='conditionrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='conditionrule_valid_to_after_valid_from', violation_error_message='Data końca obowiązywania nie może być wcześniejsza niż data początku.'),
        ),
        migrations.AddConstraint(
            model_name='conditionrule',
            constraint=members.constraints.ValidityOverlapConstraint(fields=('applies_to', 'code'), name='conditionrule_no_overlapping_validity', violation_error_message='Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). Zakończ tamten wiersz dzień wcześniej albo zmień daty.'),
        ),
        migrations.AddConstraint(
            model_name='conditionrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('threshold__gte', 0)), field='threshold', name='conditionrule_threshold_not_negative', violation_error_message='Próg warunku nie może być ujemny.'),
        ),
        migrations.AddConstraint(
            model_name='fullloadhours',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='fullloadhours_valid_to_after_valid_from', violation_error_message='Data końca obowiązywania nie może być wcześniejsza niż data początku.'),
        ),
        migrations.AddConstraint(
            model_name='fullloadhours',
            constraint=members.constraints.ValidityOverlapConstraint(fields=('source',), name='fullloadhours_no_overlapping_validity', violation_error_message='Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). Zakończ tamten wiersz dzień wcześniej albo zmień daty.'),
        ),
        migrations.AddConstraint(
            model_name='fullloadhours',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('hours__gte', 0), ('hours__lte', 8784)), field='hours', name='fullloadhours_hours_0_8784', violation_error_message='Roczny czas pracy to od 0 do 8784 godzin (liczba godzin roku przestępnego).'),
        ),
        migrations.AddConstraint(
            model_name='generator',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('capacity_kw__gte', 0)), field='capacity_kw', name='generator_capacity_kw_not_negative', violation_error_message='Moc elektryczna nie może być ujemna (co najmniej 0 kW).'),
        ),
        migrations.AddConstraint(
            model_name='generator',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('thermal_kw__gte', 0), ('thermal_kw__isnull', True), _connector='OR'), field='thermal_kw', name='generator_thermal_kw_not_negative', violation_error_message='Moc cieplna nie może być ujemna (co najmniej 0 kW).'),
        ),
        migrations.AddConstraint(
            model_name='generator',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('biogas_m3_per_year__gte', 0), ('biogas_m3_per_year__isnull', True), _connector='OR'), field='biogas_m3_per_year', name='generator_biogas_m3_per_year_not_negative', violation_error_message='Roczna wydajność biogazu nie może być ujemna (co najmniej 0 m³).'),
        ),
        migrations.AddConstraint(
            model_name='member',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('left_on__isnull', True), ('left_on__gte', models.F('joined_on')), _connector='OR'), field='left_on', name='member_left_on_after_joined_on', violation_error_message='Data wystąpienia nie może być wcześniejsza niż data przystąpienia.'),
        ),
        migrations.AddConstraint(
            model_name='meteringpoint',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('contracted_kw__gte', 0)), field='contracted_kw', name='meteringpoint_contracted_kw_not_negative', violation_error_message='Moc umowna nie może być ujemna (co najmniej 0 kW).'),
        ),
        migrations.AddConstraint(
            model_name='meteringpoint',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('annual_demand_kwh__gte', 0), ('annual_demand_kwh__isnull', True), _connector='OR'), field='annual_demand_kwh', name='meteringpoint_annual_demand_kwh_not_negative', violation_error_message='Deklarowane roczne zużycie nie może być ujemne (co najmniej 0 kWh).'),
        ),
        migrations.AddConstraint(
            model_name='ppemembership',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='ppemembership_valid_to_after_valid_from', violation_error_message='Koniec przynależności PPE nie może być wcześniejszy niż jej początek.'),
        ),
        migrations.AddConstraint(
            model_name='storageunit',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('power_kw__gte', 0)), field='power_kw', name='storageunit_power_kw_not_negative', violation_error_message='Moc magazynu nie może być ujemna (co najmniej 0 kW).'),
        ),
        migrations.AddConstraint(
            model_name='storageunit',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('capacity_kwh__gte', 0)), field='capacity_kwh', name='storageunit_capacity_kwh_not_negative', violation_error_message='Pojemność magazynu nie może być ujemna (co najmniej 0 kWh).'),
        ),
        migrations.AddConstraint(
            model_name='storageunit',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('efficiency__gte', Decimal('0.01')), ('efficiency__lte', 1)), field='efficiency', name='storageunit_efficiency_0_1', violation_error_message='Sprawność cyklu to liczba od 0,01 do 1 (np. 0,90).'),
        ),
        migrations.RunPython(sqlite_triggers_create, sqlite_triggers_drop),
    ]
