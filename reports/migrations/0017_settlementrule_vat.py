
import members.constraints
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0016_merge_rate_sources_level'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalsettlementrule',
            name='vat_rate_pct',
            field=models.DecimalField(decimal_places=2, default=Decimal('23.00'), help_text='Podstawowa stawka VAT od energii elektrycznej i usług dystrybucji (23 %: art. 41 ust. 1 w zw. z art. 146ef ust. 1 pkt 1 ustawy o podatku od towarów i usług). Służy do kwot brutto dla członków, którzy nie odliczają VAT.', max_digits=5, verbose_name='stawka VAT [%]'),
        ),
        migrations.AddField(
            model_name='settlementrule',
            name='vat_rate_pct',
            field=models.DecimalField(decimal_places=2, default=Decimal('23.00'), help_text='Podstawowa stawka VAT od energii elektrycznej i usług dystrybucji (23 %: art. 41 ust. 1 w zw. z art. 146ef ust. 1 pkt 1 ustawy o podatku od towarów i usług). Służy do kwot brutto dla członków, którzy nie odliczają VAT.', max_digits=5, verbose_name='stawka VAT [%]'),
        ),
        migrations.AlterField(
            model_name='runoutdatedreason',
            name='code',
            field=models.CharField(choices=[('meter_data', 'dane pomiarowe'), ('joining', 'przystąpienie do klastra'), ('leaving', 'wystąpienie z klastra'), ('transfer', 'przeniesienie PPE'), ('membership', 'okres przynależności PPE'), ('ppe', 'dane PPE'), ('installation', 'instalacje wytwórcze i magazyny'), ('registry_import', 'import rejestru'), ('rate', 'stawki, opłaty i zasady'), ('member_vat', 'odliczanie VAT przez członka')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='settlementrule',
            constraint=members.constraints.FieldCheckConstraint(condition=models.Q(('vat_rate_pct__gte', 0), ('vat_rate_pct__lte', 100)), field='vat_rate_pct', name='settlementrule_vat_rate_pct_0_100', violation_error_message='Stawka VAT to procent: od 0 do 100 %.'),
        ),
    ]
