"""A draft warning withdrawn before it was circulated was told to the concerned authorities and ENISA.

Its ``warning.withdrawn`` event went to the audience of a circulated warning (the selectors took any
status but draft as shown). The warning itself is now the drafter's alone again; this leaves its
event to the drafter's organisation too, and names no recipient it never had.
"""

from django.db import migrations


def narrow(apps, schema_editor):
    PublicWarning = apps.get_model("awareness", "PublicWarning")
    Event = apps.get_model("liaison", "Event")
    EventAudience = apps.get_model("liaison", "EventAudience")
    drafts = PublicWarning.objects.filter(status="withdrawn", circulated_at__isnull=True).values_list(
        "pk", "drafter_organisation__group_id")
    for pk, group_id in drafts.iterator():
        events = Event.objects.filter(kind="warning.withdrawn", subject_type="publicwarning", subject_id=str(pk))
        EventAudience.objects.filter(event__in=events).exclude(group_id=group_id).delete()
        for event in events:
            if event.payload.get("recipient_groups"):
                event.payload["recipient_groups"] = []
                event.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [
        ("awareness", "0005_exercise"),
        ("liaison", "0010_fewer_write_indexes"),
    ]

    operations = [migrations.RunPython(narrow, migrations.RunPython.noop)]
