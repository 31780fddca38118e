"""Alerts say what the alerted organisation gets of the incident (issue 12: escalation never widens the audience)."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef


def mark_shared_alerts(apps, schema_editor):
    """Alerts raised before this change whose organisation already holds a share of the incident."""
    Alert = apps.get_model("incidents", "Alert")
    Share = apps.get_model("incidents", "Share")
    shared = Share.objects.filter(incident=OuterRef("incident_id"), group=OuterRef("organisation__group_id"))
    Alert.objects.filter(Exists(shared)).update(disclosure="shared")


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0006_alerts"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="disclosure",
            field=models.CharField(
                choices=[("alerted_only", "Alerted only"), ("awaiting_consent", "Awaiting the originator's consent"),
                         ("shared", "Shared")],
                default="alerted_only", max_length=20,
                help_text="Whether the organisation may read the incident, or only knows it exists.",
            ),
        ),
        migrations.RunPython(mark_shared_alerts, migrations.RunPython.noop),
    ]
