"""The MISP event uuid of each incident, drawn once (incidents/misp.py).

Stored, not derived: the MISP feed serves ``<uuid>.json`` and must find the incident by it with
one indexed lookup. Added the way 0011 added the STIX ids (Django's "Migrations that add unique
fields"): nullable, a distinct uuid4 per existing row, then non-null and unique. Attribute uuids
need no column: they are derived from the observables' stored STIX ids (incidents/misp.py).
"""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    connection = schema_editor.connection
    model = apps.get_model("incidents", "incident")
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE {table} SET "misp_uuid" = gen_random_uuid()')
        return
    pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), 1000):
        model.objects.bulk_update([model(pk=pk, misp_uuid=uuid.uuid4()) for pk in pks[start:start + 1000]],
                                  ["misp_uuid"])


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0014_exercise'),
    ]

    operations = [
        migrations.AddField(model_name='incident', name='misp_uuid',
                            field=models.UUIDField(default=uuid.uuid4, editable=False, null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(model_name='incident', name='misp_uuid',
                              field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
    ]
