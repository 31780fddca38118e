"""The participants of the network as data (DOMAIN.md "Participants"); ENISA edits them later."""

from django.db import migrations

EU_MEMBERS = [
    ("AT", "Austria", ""), ("BE", "Belgium", ""), ("BG", "Bulgaria", ""), ("HR", "Croatia", ""),
    ("CY", "Cyprus", ""), ("CZ", "Czechia", ""), ("DK", "Denmark", ""), ("EE", "Estonia", ""),
    ("FI", "Finland", ""), ("FR", "France", ""), ("DE", "Germany", ""), ("GR", "Greece", "EL"),
    ("HU", "Hungary", ""), ("IE", "Ireland", ""), ("IT", "Italy", ""), ("LV", "Latvia", ""),
    ("LT", "Lithuania", ""), ("LU", "Luxembourg", ""), ("MT", "Malta", ""), ("NL", "Netherlands", ""),
    ("PL", "Poland", ""), ("PT", "Portugal", ""), ("RO", "Romania", ""), ("SK", "Slovakia", ""),
    ("SI", "Slovenia", ""), ("ES", "Spain", ""), ("SE", "Sweden", ""),
]
# Third countries associated to the Digital Europe Programme (CSoA Art. 19); kept as data.
DEP_ASSOCIATED = [
    ("IS", "Iceland"), ("LI", "Liechtenstein"), ("NO", "Norway"), ("UA", "Ukraine"), ("MD", "Moldova"),
    ("ME", "Montenegro"), ("MK", "North Macedonia"), ("AL", "Albania"), ("RS", "Serbia"),
    # Türkiye (TR) is added by 0005_member_state_reserve_eligible_and_turkiye.
]
# ISO 3166 reserves EU for the European Union: here the EU institutions, bodies, offices and agencies.
EUIBA = ("EU", "EU institutions, bodies, offices and agencies")


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    MemberState = apps.get_model("liaison", "MemberState")
    rows = [(code, name, label, "eu_member") for code, name, label in EU_MEMBERS]
    rows += [(code, name, "", "dep_associated") for code, name in DEP_ASSOCIATED]
    rows.append((EUIBA[0], EUIBA[1], "", "euiba"))
    for code, name, label, kind in rows:
        group, _ = Group.objects.get_or_create(name=f"ms:{code}")
        MemberState.objects.get_or_create(code=code, defaults={"name": name, "eu_label": label, "kind": kind, "group": group})
    for name in ["community:csirts-network", "community:eu-cyclone", "network-admins"]:
        Group.objects.get_or_create(name=name)


def backwards(apps, schema_editor):
    apps.get_model("liaison", "MemberState").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("liaison", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(forwards, backwards)]
