from django.db import migrations


class Migration(migrations.Migration):
    """The app's start: the products' tables follow in their own migrations."""

    initial = True

    dependencies = [
        ("csoa_portal", "0007_outbox"),
        ("liaison", "0007_event_subject_ids"),
        ("incidents", "0013_list_indexes"),
        ("reserve", "0003_engagement_specific_agreement"),
    ]

    operations = []
