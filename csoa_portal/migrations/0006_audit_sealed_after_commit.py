"""Audit entries are keyed when written and chained after commit (csoa_portal.audit.seal_pending).

Writers no longer take the chain's head: an entry carries its own keyed ``content_hash`` and
waits (``seq`` empty) for the sealer. Entries already in the log are sealed under the earlier
scheme and stay valid unchanged: an empty ``content_hash`` marks them, and their chain hash,
which covers their whole content, is verified as before. Nothing is rewritten here.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('csoa_portal', '0005_idempotency_response_headers'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditentry',
            options={'ordering': ['-id'], 'permissions': [('browse_audit', 'Can browse the audit log')], 'verbose_name_plural': 'audit entries'},
        ),
        migrations.AddField(
            model_name='auditentry',
            name='content_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='sealed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='seq',
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('seq__isnull', True)), fields=['id'], name='auditentry_unsealed'),
        ),
    ]
