"""Who may see which incident: the one definition every read path uses.

Visibility is a guardian ``view_incident`` grant to one of the user's groups
(organisation, member state, community or personal group), checked as a subquery on
the direct foreign-key permission table, never as a list of ids.
"""

from django.contrib.auth.models import Group
from django.db.models import QuerySet, Subquery
from django.http import Http404

from incidents.models import Incident, IncidentGroupObjectPermission

VIEW = "view_incident"
CHANGE = "change_incident"


def _granted(codename: str) -> QuerySet[IncidentGroupObjectPermission]:
    return IncidentGroupObjectPermission.objects.filter(
        permission__codename=codename, permission__content_type__app_label="incidents"
    )


def incidents_visible_to(user) -> QuerySet[Incident]:
    if not getattr(user, "is_authenticated", False):
        return Incident.objects.none()
    granted = _granted(VIEW).filter(group__in=user.groups.values("id")).values("content_object_id")
    return Incident.objects.filter(id__in=Subquery(granted))


def incident_visible_to(user, incident_id) -> Incident:
    """The incident, or 404 whether it does not exist or is not the user's to see."""
    try:
        return incidents_visible_to(user).select_related("reporting_organisation__member_state").get(pk=incident_id)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404("No such incident.") from None


def visible_incident_ids(user, ids: set[str]) -> set[str]:
    """Event subject check: which of these incidents the user may still see."""
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in incidents_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def is_originator(user, incident: Incident) -> bool:
    return user.groups.filter(pk=incident.reporting_organisation.group_id).exists()


def can_edit(user, incident: Incident) -> bool:
    granted = _granted(CHANGE).filter(content_object=incident, group__in=user.groups.values("id"))
    return granted.exists()


def audience_group_names(incident: Incident) -> list[str]:
    """Every group that may see the incident: exactly the audience of its events."""
    granted = _granted(VIEW).filter(content_object=incident).values("group_id")
    return list(Group.objects.filter(id__in=Subquery(granted)).values_list("name", flat=True))
