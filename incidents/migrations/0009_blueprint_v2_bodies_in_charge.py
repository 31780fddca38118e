"""Blueprint version 2: the bodies in charge, the IPCR modes and the default rules as DOMAIN.md states them.

The database may already have version 1 (or a later version ENISA made) active: version 2 is
built from the *active* version (its thresholds and rules kept, the corrections applied), then
activated and audited like any activation in the portal. An incident a human had de-escalated
keeps holding: its facts now are recorded as the facts of that decision.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import Max

from incidents.blueprint_defaults import v2_levels, v2_rules

LEVEL_FIELDS = ["number", "code", "name", "description", "network", "alerted_groups", "ack_minutes",
                "update_interval_minutes", "expected_reports", "declare_roles"]
RULE_FIELDS = ["code", "target_level", "conditions", "automatic", "description"]


def _held_facts(incident) -> dict:
    states = incident.affected_member_states.count()
    return {
        "affected_member_states": states,
        "critical_member_states": states if incident.severity == "critical" else 0,
        "severity": incident.severity,
        "high_criticality_sector": incident.sectors.filter(annex="I").exists(),
        "cross_border_impact": bool(incident.cross_border_impact),
        "national_capacity_exceeded": incident.national_capacity_exceeded,
        "technical_cooperation_requested": incident.technical_cooperation_requested,
    }


def forwards(apps, schema_editor):
    from csoa_portal import audit  # the live chain: this activation is audited like any other

    Incident = apps.get_model("incidents", "Incident")
    if any(f.name == "deescalated_at_version" for f in Incident._meta.get_fields()):
        for incident in Incident.objects.filter(deescalated_at_version__isnull=False):
            Incident.objects.filter(pk=incident.pk).update(deescalation_facts=_held_facts(incident))

    Blueprint = apps.get_model("incidents", "Blueprint")
    CrisisLevel = apps.get_model("incidents", "CrisisLevel")
    EscalationRule = apps.get_model("incidents", "EscalationRule")
    active = Blueprint.objects.filter(is_active=True).first()
    if active is None or any(level.declare_bodies for level in active.levels.all()):
        return  # nothing to build on, or already a version with bodies in charge (re-applied by the tests)
    levels = v2_levels([{f: getattr(lv, f) for f in LEVEL_FIELDS} for lv in active.levels.order_by("number")])
    rules = v2_rules([{f: getattr(r, f) for f in RULE_FIELDS} for r in active.rules.order_by("target_level", "code")])
    now = django.utils.timezone.now()
    version = (Blueprint.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    Blueprint.objects.filter(pk=active.pk).update(is_active=False)
    v2 = Blueprint.objects.create(
        version=version, title="EU Cyber Crisis Management Blueprint (2025): bodies in charge and IPCR modes",
        notes="The Council Presidency alone activates the political level; EU-CyCLONe and the engine propose it. "
              "A Reserve request no longer escalates by itself; the high-criticality rule needs cross-border impact.",
        is_active=True, activated_at=now,
    )
    CrisisLevel.objects.bulk_create([CrisisLevel(blueprint=v2, **level) for level in levels])
    EscalationRule.objects.bulk_create([EscalationRule(blueprint=v2, **rule) for rule in rules])
    audit.record(actor=None, action="blueprint.activated", object_type="incidents.blueprint", object_id=str(v2.pk),
                 object_repr=f"Blueprint v{version} (active)", before={"active_version": active.version},
                 after={"active_version": version, "by": "migration incidents.0009", "levels": levels,
                        "rules": rules})
    Group = apps.get_model("auth", "Group")
    names = list(Group.objects.filter(name__in=["community:csirts-network", "community:eu-cyclone", "network-admins"])
                 .values_list("name", flat=True))
    if names:
        from liaison.events import Audience, record_event

        record_event(kind="blueprint.activated", subject_type="blueprint", subject_id=str(v2.pk),
                     payload={"version": version, "title": v2.title}, audience=Audience(groups=names))


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0008_nis2_art23'),
        ('liaison', '0006_council_presidency'),
        # audit.record writes through the live AuditEntry model: every audit column must exist first.
        ('csoa_portal', '0007_outbox'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Schema first: PostgreSQL refuses to alter a table with rows inserted in the same transaction.
        migrations.RemoveField(
            model_name='crisislevel',
            name='in_charge_groups',
        ),
        migrations.AddField(
            model_name='crisislevel',
            name='declare_bodies',
            field=models.JSONField(blank=True, default=list, help_text='Bodies that may declare this level.'),
        ),
        migrations.AddField(
            model_name='crisislevel',
            name='deescalate_bodies',
            field=models.JSONField(blank=True, default=list, help_text='Bodies that may lower an incident from this level.'),
        ),
        migrations.AddField(
            model_name='crisislevel',
            name='modes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='crisislevel',
            name='propose_bodies',
            field=models.JSONField(blank=True, default=list, help_text='Bodies that may propose this level to those who declare it.'),
        ),
        migrations.AddField(
            model_name='incident',
            name='deescalation_facts',
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='incident',
            name='ipcr_mode',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='crisislevel',
            name='declare_roles',
            field=models.JSONField(blank=True, default=list, help_text='Roles (within those bodies) that may act.'),
        ),
        migrations.CreateModel(
            name='LevelProposal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.PositiveSmallIntegerField()),
                ('rules', models.JSONField(blank=True, default=list)),
                ('explanation', models.TextField()),
                ('by_engine', models.BooleanField(default=True)),
                ('state', models.CharField(choices=[('open', 'Waiting for a decision'), ('accepted', 'Declared'), ('declined', 'Declined')], default='open', max_length=16)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('decision_reason', models.TextField(blank=True)),
                ('blueprint_version', models.PositiveIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='level_proposals', to='incidents.incident')),
                ('organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='liaison.organisation')),
                ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('state', 'open')), fields=('incident', 'level'), name='one_open_proposal_per_level')],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='incident',
            name='deescalated_at_version',
        ),
    ]
