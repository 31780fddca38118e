"""The live incidents, newest first: what live work's lists walk while exercises run beside it.

Without it, the first page of a reader who sees few incidents (ENISA: one in five) stepped
over every incident of every running exercise, the newest rows, before reaching live ones
(bench/exercise_isolation.py; docs/exercises.md, "Performance").
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0015_misp_ids'),
        ('liaison', '0008_exercises'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='incident',
            index=models.Index(condition=models.Q(('exercise__isnull', True)), fields=['-id'], name='incident_live_idx'),
        ),
    ]
