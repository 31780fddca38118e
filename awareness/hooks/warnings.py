"""Registrations of the warnings product (events, inbox, sweep, menu, audit)."""

from django.urls import NoReverseMatch, reverse

from liaison.policy import acting_memberships


def _url(pk: str) -> str:
    try:
        return reverse("awareness:warning_detail", args=[pk])
    except NoReverseMatch:
        return f"/awareness/warnings/{pk}/"


def _label(text: str):
    def label(event) -> str:
        return f"{text} {event.payload.get('reference', '')}:"
    return label


INBOX_LABELS = {
    "warning.circulated": _label("Public warning to agree"),
    "warning.revised": _label("Public warning revised, answer again"),
    "warning.answered": _label("Answer on public warning"),
    "warning.scheduled": _label("Public warning scheduled"),
    "warning.released": _label("Public warning released"),
    "warning.release_blocked": _label("Public warning NOT released"),
    "warning.withdrawn": _label("Public warning withdrawn"),
}


def _menu(user):
    from awareness.policy import warnings as policy
    from liaison.menu import MenuLink

    if not getattr(user, "is_authenticated", False):
        return []
    if not (policy.authority_seats(user) or policy.is_enisa(user) or acting_memberships(user).filter(
            role__in=policy.DRAFTING_ROLES).exists()):
        return []
    return [MenuLink("Public warnings", reverse("awareness:warning_list"),
                     "Synchronised public warnings: draft, agree, release")]


def register() -> None:
    """Called from AwarenessConfig.ready()."""
    from awareness.selectors import warnings as selectors
    from awareness.services import warnings as services
    from csoa_portal import audit, sweep
    from liaison.events import register_subject_check, register_subject_url
    from liaison.inbox import register_inbox_kinds
    from awareness.hooks.menu import register_menu

    register_subject_check("publicwarning", selectors.visible_warning_ids)
    register_subject_url("publicwarning", _url)
    register_inbox_kinds("awareness.warnings", INBOX_LABELS, labels=INBOX_LABELS)
    sweep.register("release_public_warnings", services.release_due_warnings)
    audit.register_read_check("awareness.publicwarning", selectors.visible_warning_ids)
    for model in ("warningparticipation", "warningfact"):
        audit.register_read_check(f"awareness.{model}", audit.via_parent(f"awareness.{model}", "warning_id",
                                                                         selectors.visible_warning_ids))
    register_menu("awareness-warnings", _menu, order=40)


def load_demo(stdout=None) -> int:
    """Called by AwarenessConfig.load_demo: a circulated public warning on the demo crisis (awareness.demo)."""
    from awareness.demo import load_warning

    return load_warning(stdout=stdout)
