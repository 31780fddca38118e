"""ENISA's per-country Reserve flag (CSoA Art. 19), off for every country, and Türkiye among the DEP-associated.

Türkiye is associated to the Digital Europe Programme (DOMAIN.md "Participants"); like every
third country it starts not eligible for the Reserve until ENISA records that its association
agreement provides for it.
"""

from django.db import migrations, models

TURKIYE = ("TR", "Türkiye")


def add_turkiye(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    MemberState = apps.get_model("liaison", "MemberState")
    code, name = TURKIYE
    group, _ = Group.objects.get_or_create(name=f"ms:{code}")
    MemberState.objects.get_or_create(code=code, defaults={"name": name, "eu_label": "", "kind": "dep_associated",
                                                           "group": group, "time_zone": "Europe/Istanbul"})


def remove_turkiye(apps, schema_editor):
    MemberState = apps.get_model("liaison", "MemberState")
    # Only if nothing refers to it yet: organisations and history may have been added since.
    MemberState.objects.filter(code=TURKIYE[0], organisations__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("liaison", "0004_member_state_time_zone"),
    ]

    operations = [
        migrations.AddField(
            model_name="memberstate",
            name="reserve_eligible",
            field=models.BooleanField(
                default=False,
                help_text="DEP-associated third countries only (CSoA Art. 19): set by ENISA when the country's "
                          "association agreement to the Digital Europe Programme provides for Reserve support.",
                verbose_name="eligible for the Reserve under its association agreement",
            ),
        ),
        migrations.RunPython(add_turkiye, remove_turkiye),
    ]
