"""Seed NIS2 sectors (Annex I and II) and the RSIT categories (DOMAIN.md)."""

from django.db import migrations

from incidents.vocabulary import category_rows, sector_rows


def forwards(apps, schema_editor):
    Sector = apps.get_model("incidents", "Sector")
    Category = apps.get_model("incidents", "IncidentCategory")
    by_code = {}
    for code, name, annex, parent in sector_rows():
        by_code[code], _ = Sector.objects.get_or_create(
            code=code, defaults={"name": name, "annex": annex, "parent": by_code.get(parent)}
        )
    for code, klass, type_ in category_rows():
        Category.objects.get_or_create(code=code, defaults={"klass": klass, "type": type_})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
