"""Each participant's time zone as data (NIS2 Art. 23(4)(d): "one month" is counted where the entity reports).

Until now a table in ``incidents.clocks`` held the zones, with a silent fallback for any
participant missing from it. The zones are now a field ENISA sets with the participant.
"""

from django.db import migrations, models

import liaison.models

# IANA zone of each participant (its capital's); DEP-associated countries and the EU institutions included.
TIME_ZONES = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "HR": "Europe/Zagreb",
    "CY": "Asia/Nicosia", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki", "FR": "Europe/Paris", "DE": "Europe/Berlin", "GR": "Europe/Athens",
    "HU": "Europe/Budapest", "IE": "Europe/Dublin", "IT": "Europe/Rome", "LV": "Europe/Riga",
    "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg", "MT": "Europe/Malta", "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "SK": "Europe/Bratislava",
    "SI": "Europe/Ljubljana", "ES": "Europe/Madrid", "SE": "Europe/Stockholm",
    "IS": "Atlantic/Reykjavik", "LI": "Europe/Vaduz", "NO": "Europe/Oslo", "UA": "Europe/Kyiv",
    "MD": "Europe/Chisinau", "ME": "Europe/Podgorica", "MK": "Europe/Skopje", "AL": "Europe/Tirane",
    "RS": "Europe/Belgrade", "TR": "Europe/Istanbul", "EU": "Europe/Brussels",
}


def forwards(apps, schema_editor):
    """Fill the known participants; one added by ENISA before this migration is left for ENISA to set (UTC meanwhile,
    shown on its page)."""
    MemberState = apps.get_model("liaison", "MemberState")
    for state in MemberState.objects.filter(time_zone=""):
        state.time_zone = TIME_ZONES.get(state.code, "UTC")
        state.save(update_fields=["time_zone"])


class Migration(migrations.Migration):
    dependencies = [("liaison", "0003_inbox_cursor")]
    operations = [
        migrations.AddField(
            model_name="memberstate",
            name="time_zone",
            field=models.CharField(
                default="", max_length=64, validators=[liaison.models.validate_time_zone],
                help_text="IANA time zone its calendar-month deadlines are counted in, e.g. Europe/Berlin.",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
