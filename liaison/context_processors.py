from liaison.menu import menu_for
from liaison.policy import acts_through, administered_organisations, is_network_admin
from liaison.selectors import memberships_of


def network(request):
    """The signed-in person's organisations and roles, and the menu their work calls for (``liaison.menu``)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(memberships_of(user))
    administered = administered_organisations(memberships)
    return {
        "my_memberships": memberships,
        # the memberships the person acts through (the dashboard marks the others deactivated)
        "my_acting_membership_ids": {m.pk for m in memberships if acts_through(m)},
        "my_organisation": memberships[0].organisation if memberships else None,
        "is_network_admin": is_network_admin(user),
        "administered_organisations": administered,
        "is_org_admin": bool(administered),
        "app_menu": _menu(user, request.path),
    }


def _menu(user, path: str):
    """The menu, computed only when a template draws it (partial pages re-fetched by htmx do not), once."""
    computed = []

    def menu():
        if not computed:
            computed.append(menu_for(user, path=path))
        return computed[0]

    return menu


def exercise(request):
    """The exercise being worked in (the banner on every page) and the top bar's switch."""
    from liaison.exercises import banner
    from liaison.selectors import exercises_to_switch_to

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = getattr(request, "exercise", None)
    choices = []

    def switch_choices():  # read only when a page draws the top bar
        if not choices:
            choices.append(exercises_to_switch_to(user))
        return choices[0]

    def exercises_link():  # the menu's link: for those taking part in one (those who run them: the Network page)
        return bool(current) or bool(switch_choices())

    return {"current_exercise": current, "exercise_banner": banner(current) if current else "",
            "exercise_choices": switch_choices, "exercises_link": exercises_link}
