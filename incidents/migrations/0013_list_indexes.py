"""Indexes for the incident list: the view-grant check probes (incident, permission, group).

The new index answers the list's EXISTS from the index alone (bench/incidents_list.py: 3,063
buffers → 65 for a national CSIRT's first page at 100,000 incidents). It makes the incident's
single-column foreign-key index redundant (its first column), and the old (group, permission,
incident) index duplicated guardian's unique constraint on the same columns.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('incidents', '0012_tags_tasks'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='incidentgroupobjectpermission',
            index=models.Index(fields=['content_object', 'permission', 'group'], name='incident_grant_idx'),
        ),
        migrations.RemoveIndex(
            model_name='incidentgroupobjectpermission',
            name='incidents_i_group_i_1172af_idx',
        ),
        migrations.AlterField(
            model_name='incidentgroupobjectpermission',
            name='content_object',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to='incidents.incident'),
        ),
    ]
