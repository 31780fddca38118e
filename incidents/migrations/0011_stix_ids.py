"""STIX ids drawn once per exported object: UUIDv4s, as STIX 2.1 asks of domain and relationship objects.

Until now the export derived its ids (uuid5) from the portal's ids. A unique field added to
existing rows follows Django's recipe ("Migrations that add unique fields"): added nullable,
filled with a distinct uuid4 per row, then made non-null and unique. An organisation's identity
id is drawn on its first export (incidents.stix), so StixIdentity starts empty.
"""

import uuid

import django.db.models.deletion
from django.db import migrations, models

STIX_FIELDS = {"incident": ["stix_id"], "timelineentry": ["stix_id"], "observable": ["stix_id", "stix_relationship_id"]}


def fill(apps, schema_editor):
    connection = schema_editor.connection
    for model_name, fields in STIX_FIELDS.items():
        model = apps.get_model("incidents", model_name)
        if connection.vendor == "postgresql":
            # Set-based: the bench database holds a million observables (gen_random_uuid: PostgreSQL 13+).
            table = connection.ops.quote_name(model._meta.db_table)
            columns = ", ".join(f"{connection.ops.quote_name(f)} = gen_random_uuid()" for f in fields)
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET {columns}")
            continue
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), 1000):
            rows = [model(pk=pk, **{f: uuid.uuid4() for f in fields}) for pk in pks[start:start + 1000]]
            model.objects.bulk_update(rows, fields)


def _nullable(model_name, name):
    return migrations.AddField(model_name=model_name, name=name,
                               field=models.UUIDField(default=uuid.uuid4, editable=False, null=True))


def _unique(model_name, name):
    return migrations.AlterField(model_name=model_name, name=name,
                                 field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True))


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0010_situation_taxonomy'),
        ('liaison', '0006_council_presidency'),
    ]

    operations = [
        *[_nullable(model_name, name) for model_name, fields in STIX_FIELDS.items() for name in fields],
        migrations.RunPython(fill, migrations.RunPython.noop),
        *[_unique(model_name, name) for model_name, fields in STIX_FIELDS.items() for name in fields],
        migrations.CreateModel(
            name='StixIdentity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stix_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('organisation', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+',
                                                      to='liaison.organisation')),
            ],
            options={
                'verbose_name_plural': 'STIX identities',
            },
        ),
    ]
