"""Tags on incidents and observables: machine tags of the controlled vocabularies (MISP taxonomies) and free words.

A controlled vocabulary (``rsit``, ``nis``) accepts only its own tags; an unknown namespace is refused,
naming the tag; a plain word is a free tag, created on first use. A ``tlp:`` tag is the object's label
itself: accepted when it names the label, refused otherwise (the label changes by its own rules).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from csoa_portal import audit
from incidents.models import Incident, Tag, TagVocabulary
from incidents.selectors import tag_names
from incidents.services.common import _event, _lock_for_edit, _touch
from incidents.tags import MAX_TAGS, InvalidTag, canonical, namespace_of, tlp_of
from incidents.vocabulary import FREE_TAGS, TLP
from liaison.models import User


def resolve_tags(names, *, tlp: str) -> list[Tag]:
    """The tags these names denote for an object labelled ``tlp``, all or none.

    Every refused name is reported under ``tags``, saying why; free tags are created only when
    all names are accepted.
    """
    if not isinstance(names, (list, tuple)):
        raise ValidationError({"tags": "Give a list of tags."})
    errors, wanted = [], []
    for raw in names:
        try:
            name = canonical(raw)
        except InvalidTag as exc:
            errors.append(str(exc))
            continue
        if name not in wanted:
            wanted.append(name)
    if len(wanted) > MAX_TAGS:
        errors.append(f"At most {MAX_TAGS} tags; got {len(wanted)}.")
    vocabularies = {v.namespace: v for v in TagVocabulary.objects.all()}
    existing = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    found, new = [], []
    for name in wanted:
        namespace = namespace_of(name)
        vocabulary = vocabularies.get(namespace)
        if vocabulary is None:
            known = ", ".join(f"{ns}:" for ns, v in sorted(vocabularies.items()) if not v.free)
            errors.append(f"Tag {name!r}: unknown vocabulary {namespace!r}. Use a machine tag of {known} or a "
                          f"plain word (a free tag).")
        elif namespace == "tlp":
            if tlp_of(name) != tlp:
                errors.append(f"Tag {name!r}: the TLP is the label itself ({TLP(tlp).label}), not a tag; change "
                              f"the label (the tlp field) to relabel.")
        elif name in existing:
            found.append(existing[name])
        elif vocabulary.free:
            new.append(name)
        else:
            errors.append(f"Tag {name!r} is not in the {vocabulary.name} ({namespace}) vocabulary.")
    if errors:
        raise ValidationError({"tags": errors})
    free = vocabularies.get(FREE_TAGS)
    for name in new:
        tag, _ = Tag.objects.get_or_create(name=name, defaults={"vocabulary": free, "label": name})
        found.append(tag)
    return found


def apply_tags(obj, tags: list[Tag]) -> tuple[list[str], list[str]]:
    """Set an incident's or observable's tags; (before, after) as machine tags, for the audit entry."""
    before = tag_names(obj)
    obj.tags.set(tags)
    if hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache.pop("tags", None)
    return before, tag_names(obj)


@transaction.atomic
def tag_incident(*, actor: User, incident: Incident, add=(), remove=()) -> Incident:
    """Add and remove tags on the incident (the incident page's tag editor); the reporting organisation's editors."""
    incident = _lock_for_edit(actor, incident, None)
    current = [t.name for t in incident.tags.all()]
    try:
        dropped = {canonical(name) for name in remove}
    except InvalidTag as exc:
        raise ValidationError({"tags": str(exc)}) from None
    if any(namespace_of(name) == "tlp" for name in dropped):
        raise ValidationError({"tags": "The TLP is the incident's label, not a tag: change the label to relabel."})
    wanted = [name for name in current if name not in dropped] + [name for name in add]
    tags = resolve_tags(wanted, tlp=incident.tlp)
    if {t.name for t in tags} == set(current):
        return incident
    before, after = apply_tags(incident, tags)
    _touch(incident)
    audit.record(actor=actor, action="incident.tagged", obj=incident, before={"tags": before}, after={"tags": after})
    _event("incident.updated", incident, actor=actor, payload={"changed": ["tags"], "version": incident.version})
    return incident
