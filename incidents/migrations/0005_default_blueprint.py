"""Install version 1 of the Blueprint (incidents/blueprint_defaults.py), active."""

from django.db import migrations
from django.utils import timezone

from incidents.blueprint_defaults import LEVELS, RULES


def forwards(apps, schema_editor):
    Blueprint = apps.get_model("incidents", "Blueprint")
    if Blueprint.objects.exists():
        return
    blueprint = Blueprint.objects.create(
        version=1, title="EU Cyber Crisis Management Blueprint (2025), portal defaults", is_active=True,
        activated_at=timezone.now(),
    )
    CrisisLevel = apps.get_model("incidents", "CrisisLevel")
    EscalationRule = apps.get_model("incidents", "EscalationRule")
    # Only the columns the model has at this point (tests re-apply this with today's models).
    columns = {f.name for f in CrisisLevel._meta.get_fields()}
    CrisisLevel.objects.bulk_create([CrisisLevel(blueprint=blueprint, **{k: v for k, v in level.items() if k in columns})
                                     for level in LEVELS])
    EscalationRule.objects.bulk_create([EscalationRule(blueprint=blueprint, **rule) for rule in RULES])


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_blueprint")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
