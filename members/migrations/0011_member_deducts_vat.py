from django.db import migrations, models


# The legal forms that deduct VAT by default, as ``members.models.VAT_DEDUCTING_FORMS`` on the day
# of this migration (copied: a migration must not follow later changes of the live constant).
DEDUCTING = ("micro_enterprise", "small_enterprise", "medium_enterprise", "large_enterprise", "public_transport",
             "cooperative")


def deducts_vat_by_legal_form(apps, schema_editor):
    """Existing members get the default of their legal form (persons, JSTs and others: not deducting)."""
    Member = apps.get_model("members", "Member")
    Member.objects.filter(legal_form__in=DEDUCTING).update(deducts_vat=True)


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0010_condition_legal_basis'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalmember',
            name='deducts_vat',
            field=models.BooleanField(default=False, help_text='Czy członek odlicza VAT od faktur za energię. Członkowi, który nie odlicza VAT (gospodarstwo domowe, JST w działalności niepodlegającej VAT), zestawienie pokazuje korzyść także brutto.', verbose_name='odlicza VAT'),
        ),
        migrations.AddField(
            model_name='member',
            name='deducts_vat',
            field=models.BooleanField(default=False, help_text='Czy członek odlicza VAT od faktur za energię. Członkowi, który nie odlicza VAT (gospodarstwo domowe, JST w działalności niepodlegającej VAT), zestawienie pokazuje korzyść także brutto.', verbose_name='odlicza VAT'),
        ),
        migrations.RunPython(deducts_vat_by_legal_form, migrations.RunPython.noop),
    ]
