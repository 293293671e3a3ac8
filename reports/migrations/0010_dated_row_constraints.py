"""The dated tariff rows' rules in the database.

Check constraints on both vendors: rates, fees, prices and shares not negative,
percentages 0–100, the cooperative coefficient in (0, 1], the values a fee's mode
needs, and ``valid_to >= valid_from``. On PostgreSQL also an exclusion constraint per
dated model (``members.constraints.ValidityOverlapConstraint``: GiST with btree_gist,
``key WITH =, daterange(valid_from, valid_to, '[]') WITH &&``) so no two rows of the
same key are in force on the same day; on SQLite it creates nothing and the forms
keep the rule. The discount tiers' field validators are dropped: the constraints say
the same and the forms show their messages.
"""

import members.constraints
from django.db import migrations, models


def btree_gist(apps, schema_editor):
    # Created by members 0002 already; a database restored without it gets it here.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0002_registry_job_ppe_code'),
        ('reports', '0012_generator_production'),
    ]

    operations = [
        migrations.RunPython(btree_gist, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='discounttier',
            name='discount_pct',
            field=models.DecimalField(decimal_places=2, max_digits=6, verbose_name='upust [%]'),
        ),
        migrations.AlterField(
            model_name='discounttier',
            name='threshold_pct',
            field=models.DecimalField(decimal_places=2, max_digits=6, verbose_name='próg autokonsumpcji [%]'),
        ),
        migrations.AlterField(
            model_name='historicaldiscounttier',
            name='discount_pct',
            field=models.DecimalField(decimal_places=2, max_digits=6, verbose_name='upust [%]'),
        ),
        migrations.AlterField(
            model_name='historicaldiscounttier',
            name='threshold_pct',
            field=models.DecimalField(decimal_places=2, max_digits=6, verbose_name='próg autokonsumpcji [%]'),
        ),
        migrations.AddConstraint(
            model_name='allocationkey',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('share__gte', 0)), field='share', name='allocation_key_share_not_negative', violation_error_message='Udział nie może być ujemny.'),
        ),
        migrations.AddConstraint(
            model_name='discounttier',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='discounttier_valid_to_after_valid_from', violation_error_message='Data końca obowiązywania nie może być wcześniejsza niż data początku.'),
        ),
        migrations.AddConstraint(
            model_name='discounttier',
            constraint=members.constraints.ValidityOverlapConstraint(fields=('threshold_pct',), name='discounttier_no_overlapping_validity', violation_error_message='Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). Zakończ tamten wiersz dzień wcześniej albo zmień daty.'),
        ),
        migrations.AddConstraint(
            model_name='discounttier',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('threshold_pct__gte', 0), ('threshold_pct__lte', 100)), field='threshold_pct', name='discounttier_threshold_pct_0_100', violation_error_message='Próg autokonsumpcji to procent: od 0 do 100 %.'),
        ),
        migrations.AddConstraint(
            model_name='discounttier',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('discount_pct__gte', 0), ('discount_pct__lte', 100)), field='discount_pct', name='discounttier_discount_pct_0_100', violation_error_message='Upust to procent: od 0 do 100 %.'),
        ),
        migrations.AddConstraint(
            model_name='distributionrate',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='distributionrate_valid_to_after_valid_from', violation_error_message='Data końca obowiązywania nie może być wcześniejsza niż data początku.'),
        ),
        migrations.AddConstraint(
            model_name='distributionrate',
            constraint=members.constraints.ValidityOverlapConstraint(fields=('dso', 'tariff_group'), name='distributionrate_no_overlapping_validity', violation_error_message='Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). Zakończ tamten wiersz dzień wcześniej albo zmień daty.'),
        ),
        migrations.AddConstraint(
            model_name='distributionrate',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('variable_rate__gte', 0)), field='variable_rate', name='distributionrate_variable_rate_not_negative', violation_error_message='Stawka zmienna sieciowa nie może być ujemna (co najmniej 0 zł/MWh).'),
        ),
        migrations.AddConstraint(
            model_name='distributionrate',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('quality_rate__gte', 0)), field='quality_rate', name='distributionrate_quality_rate_not_negative', violation_error_message='Stawka jakościowa nie może być ujemna (co najmniej 0 zł/MWh).'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='exemptfee_valid_to_after_valid_from', violation_error_message='Data końca obowiązywania nie może być wcześniejsza niż data początku.'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.ValidityOverlapConstraint(fields=('code',), name='exemptfee_no_overlapping_validity', violation_error_message='Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). Zakończ tamten wiersz dzień wcześniej albo zmień daty.'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('rate__gte', 0), ('rate__isnull', True), _connector='OR'), field='rate', name='exemptfee_rate_not_negative', violation_error_message='Stawka opłaty nie może być ujemna (co najmniej 0 zł/MWh).'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(models.Q(('obligation_pct__gte', 0), ('obligation_pct__lte', 100)), ('obligation_pct__isnull', True), _connector='OR'), field='obligation_pct', name='exemptfee_obligation_pct_0_100', violation_error_message='Obowiązek to procent: od 0 do 100 %.'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('price__gte', 0), ('price__isnull', True), _connector='OR'), field='price', name='exemptfee_price_not_negative', violation_error_message='Cena nie może być ujemna (co najmniej 0 zł/MWh).'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(models.Q(('mode', 'rate'), _negated=True), ('rate__isnull', False), _connector='OR'), field='rate', name='exemptfee_rate_mode_has_rate', violation_error_message='Opłata ustalana stawką wymaga stawki [zł/MWh].'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(models.Q(('mode', 'obligation'), _negated=True), ('obligation_pct__isnull', False), _connector='OR'), field='obligation_pct', name='exemptfee_obligation_mode_has_obligation', violation_error_message='Opłata „obowiązek × cena” wymaga obowiązku [%].'),
        ),
        migrations.AddConstraint(
            model_name='exemptfee',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(models.Q(('mode', 'obligation'), _negated=True), ('price__isnull', False), _connector='OR'), field='price', name='exemptfee_obligation_mode_has_price', violation_error_message='Opłata „obowiązek × cena” wymaga ceny [zł/MWh].'),
        ),
        migrations.AddConstraint(
            model_name='settlementrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), field='valid_to', name='settlementrule_valid_to_after_valid_from', violation_error_message='Data końca obowiązywania nie może być wcześniejsza niż data początku.'),
        ),
        migrations.AddConstraint(
            model_name='settlementrule',
            constraint=members.constraints.ValidityOverlapConstraint(fields=(), name='settlementrule_no_overlapping_validity', violation_error_message='Okres obowiązywania nakłada się na wiersz „%(row)s” (id %(id)s, %(start)s – %(end)s). Zakończ tamten wiersz dzień wcześniej albo zmień daty.'),
        ),
        migrations.AddConstraint(
            model_name='settlementrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('cooperative_coefficient__gt', 0), ('cooperative_coefficient__lte', 1)), field='cooperative_coefficient', name='settlementrule_cooperative_coefficient_0_1', violation_error_message='Współczynnik musi być większy od 0 i nie większy niż 1.'),
        ),
        migrations.AddConstraint(
            model_name='settlementrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('completeness_gate_pct__gte', 0), ('completeness_gate_pct__lte', 100)), field='completeness_gate_pct', name='settlementrule_completeness_gate_pct_0_100', violation_error_message='Wymagana kompletność danych to procent: od 0 do 100 %.'),
        ),
        migrations.AddConstraint(
            model_name='settlementrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('storage_price_spread__gte', 0)), field='storage_price_spread', name='settlementrule_storage_price_spread_not_negative', violation_error_message='Różnica cen energii nie może być ujemna (co najmniej 0 zł/MWh).'),
        ),
    ]
