"""Events about member states and organisations named them by code; every subject id is the row's id now.

The events API gives ``subject_id`` as an integer like every other id; these were the only events
whose subject id was not one.
"""

from django.db import migrations


def codes_to_ids(apps, schema_editor):
    Event = apps.get_model("liaison", "Event")
    for subject_type, model in (("memberstate", "MemberState"), ("organisation", "Organisation")):
        ids = dict(apps.get_model("liaison", model).objects.values_list("code", "pk"))
        for event in Event.objects.filter(subject_type=subject_type).exclude(subject_id__regex=r"^[0-9]+$"):
            if event.subject_id in ids:
                Event.objects.filter(pk=event.pk).update(subject_id=str(ids[event.subject_id]))


class Migration(migrations.Migration):
    dependencies = [("liaison", "0006_council_presidency")]
    operations = [migrations.RunPython(codes_to_ids, migrations.RunPython.noop)]
