"""Tags from controlled vocabularies (MISP taxonomies tlp, rsit, nis, plus free tags) and tasks on incidents.

Seeds the vocabularies from incidents.vocabulary, and writes the facts of reports submitted so
far with codes instead of internal ids, as new reports carry them.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from incidents.vocabulary import TAG_VOCABULARIES, tag_rows


def forwards(apps, schema_editor):
    """Seed the vocabularies and their tags (idempotent: re-run by the tests' ``vocabularies`` fixture)."""
    TagVocabulary = apps.get_model("incidents", "TagVocabulary")
    Tag = apps.get_model("incidents", "Tag")
    vocabularies = {}
    for namespace, (name, description) in TAG_VOCABULARIES.items():
        vocabularies[namespace], _ = TagVocabulary.objects.get_or_create(
            namespace=namespace, defaults={"name": name, "description": description, "free": namespace == "free"})
    existing = set(Tag.objects.values_list("name", flat=True))
    Tag.objects.bulk_create([Tag(vocabulary=vocabularies[namespace], name=name, label=label)
                             for namespace, name, label in tag_rows() if name not in existing])


def report_facts_as_codes(apps, schema_editor):
    """A report's facts named their category, organisation, member states and sectors by internal id."""
    Report = apps.get_model("incidents", "Report")
    models_by_field = {
        "category": apps.get_model("incidents", "IncidentCategory"),
        "reporting_organisation": apps.get_model("liaison", "Organisation"),
        "affected_member_states": apps.get_model("liaison", "MemberState"),
        "sectors": apps.get_model("incidents", "Sector"),
    }
    codes = {field: dict(model.objects.values_list("pk", "code")) for field, model in models_by_field.items()}
    for report in Report.objects.all().iterator(chunk_size=500):
        facts = report.content.get("facts") if isinstance(report.content, dict) else None
        if not isinstance(facts, dict):
            continue
        changed = False
        for field, by_pk in codes.items():
            value = facts.get(field)
            if isinstance(value, int):
                facts[field], changed = by_pk.get(value, value), True
            elif isinstance(value, list) and any(isinstance(v, int) for v in value):
                facts[field], changed = [by_pk.get(v, v) if isinstance(v, int) else v for v in value], True
        if changed:
            Report.objects.filter(pk=report.pk).update(content=report.content)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0011_stix_ids'),
        ('liaison', '0006_council_presidency'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Tag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('label', models.CharField(blank=True, max_length=200)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='TagVocabulary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('namespace', models.CharField(max_length=40, unique=True)),
                ('name', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('free', models.BooleanField(default=False, help_text='Any word is a tag of it.')),
            ],
            options={
                'verbose_name_plural': 'tag vocabularies',
                'ordering': ['namespace'],
            },
        ),
        migrations.AddField(
            model_name='incident',
            name='tags',
            field=models.ManyToManyField(blank=True, related_name='incidents', to='incidents.tag'),
        ),
        migrations.AddField(
            model_name='observable',
            name='tags',
            field=models.ManyToManyField(blank=True, related_name='observables', to='incidents.tag'),
        ),
        migrations.AddField(
            model_name='tag',
            name='vocabulary',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tags', to='incidents.tagvocabulary'),
        ),
        migrations.CreateModel(
            name='Task',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('due_at', models.DateTimeField(blank=True, null=True)),
                ('done_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('assignee', models.ForeignKey(blank=True, help_text='A member of the organisation; empty: anyone of it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='incidents.incident')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='liaison.organisation')),
            ],
            options={
                'ordering': ['done_at', 'due_at', 'id'],
                'indexes': [models.Index(fields=['organisation', 'done_at'], name='incidents_t_organis_0951c5_idx'), models.Index(fields=['incident', 'organisation'], name='incidents_t_inciden_26e834_idx')],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunPython(report_facts_as_codes, migrations.RunPython.noop),
    ]
