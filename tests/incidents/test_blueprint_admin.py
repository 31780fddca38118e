"""ENISA maintains the Blueprint in Django admin: drafts are audited, activation validates."""

from csoa_portal.models import AuditEntry
from incidents.models import Blueprint


def _admin(network, login):
    user = network["people"]["enisa_admin"]
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return login(user)


def test_active_version_cannot_be_edited_in_admin(network, login):
    client = _admin(network, login)
    active = Blueprint.objects.get(is_active=True)
    page = client.get(f"/admin/incidents/blueprint/{active.pk}/change/")
    assert page.status_code == 200 and b'name="title"' not in page.content  # read-only view


def test_draft_then_activate_from_admin_with_validation(network, login):
    client = _admin(network, login)
    active = Blueprint.objects.get(is_active=True)
    client.post("/admin/incidents/blueprint/", {"action": "draft_new_version", "_selected_action": [active.pk]})
    draft = Blueprint.objects.exclude(pk=active.pk).get(version=active.version + 1)
    draft.rules.filter(target_level=2).delete()
    response = client.post("/admin/incidents/blueprint/", {"action": "activate", "_selected_action": [draft.pk]},
                           follow=True)
    assert "Level 2 cannot be reached" in response.content.decode()
    assert Blueprint.objects.get(is_active=True).version == active.version
    assert AuditEntry.objects.filter(action="blueprint.drafted").exists()
