"""Writes to records that have no domain service: second-factor devices, lockout records.

These rows belong to third-party apps (django-otp, django-axes); an administrator may
correct or remove them in the admin. Each write is one transaction with its audit entry,
like every domain service. Models of the portal's own apps never come here: each has a
service in its app that also checks the domain's rules and records the Event.
"""

from django.db import models, transaction

from csoa_portal import audit


@transaction.atomic
def save_record(*, actor, obj: models.Model, action_prefix: str) -> models.Model:
    """Save an administrator's edit (or a new row) and record it with before and after."""
    created = obj.pk is None or not type(obj)._default_manager.filter(pk=obj.pk).exists()
    before = None
    if not created:
        before = audit.snapshot(type(obj)._default_manager.select_for_update().get(pk=obj.pk))
    obj.save()
    audit.record(actor=actor, action=f"{action_prefix}.{'created' if created else 'updated'}", obj=obj,
                 before=before, after=audit.snapshot(obj))
    return obj


@transaction.atomic
def delete_records(*, actor, objects, action_prefix: str) -> int:
    """Delete the rows one by one, each with its audit entry; returns how many were deleted."""
    count = 0
    for obj in objects:
        audit.record(actor=actor, action=f"{action_prefix}.deleted", obj=obj, before=audit.snapshot(obj))
        obj.delete()
        count += 1
    return count
