"""Cached INSERTs (csoa_portal.inserts) write exactly what the ORM's save() and bulk_create() write."""

from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from csoa_portal import inserts
from csoa_portal.models import IdempotencyRecord
from liaison.models import Event, EventAudience
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def _columns(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key}


def _event(n):
    return Event(created_at=AT, kind="incident.created", subject_type="incident", subject_id=str(n),
                 payload={"reference": f"INC-{n}", "nested": {"tlp": "amber", "ids": [1, 2]}})


def test_an_inserted_row_reads_back_as_the_orm_would_have_saved_it():
    by_orm, by_insert = _event(1), _event(2)
    by_orm.save()
    inserts.insert(by_insert)
    assert by_insert.pk == by_orm.pk + 1
    assert by_insert._state.adding is False and by_insert._state.db == "default"
    stored = Event.objects.get(pk=by_insert.pk)
    assert _columns(stored) == {**_columns(Event.objects.get(pk=by_orm.pk)), "subject_id": "2",
                                "payload": {"reference": "INC-2", "nested": {"tlp": "amber", "ids": [1, 2]}}}


def test_many_rows_get_their_ids_in_order_even_beyond_one_statement(monkeypatch):
    events = [_event(n) for n in range(7)]
    inserts.insert(*events)
    assert [e.pk for e in events] == sorted(e.pk for e in events)
    assert list(Event.objects.filter(pk__in=[e.pk for e in events]).values_list("subject_id", flat=True)) == [
        str(n) for n in range(7)]

    group = Group.objects.create(name="insert-test")
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 3)  # three statements
    links = [EventAudience(event_id=e.pk, group_id=group.pk) for e in events]
    inserts.insert(*links)
    assert all(link.pk for link in links)
    assert EventAudience.objects.filter(group=group).count() == 7


def test_mixed_models_or_keys_are_refused_and_nothing_is_written():
    group = Group.objects.create(name="insert-mixed")
    before = Event.objects.count()
    with pytest.raises(TypeError, match="one model"):
        inserts.insert(_event(1), EventAudience(event_id=1, group_id=group.pk))
    with pytest.raises(TypeError, match="primary key"):
        inserts.insert(_event(1), Event(id=10**9, kind="x", subject_type="x", subject_id="x"))
    assert Event.objects.count() == before
    inserts.insert()  # nothing to write: no statement


def test_insert_unless_taken_writes_once_and_reports_the_row_it_skipped():
    user = UserFactory()

    def record(code):
        return IdempotencyRecord(principal=user, key="k-1", method="POST", path="/api/v1/incidents/",
                                 request_hash="h", status_code=code, response_body={"code": code},
                                 response_headers={})

    first, second = record(201), record(409)
    assert inserts.insert_unless_taken(first, unique=("principal", "key")) is True
    assert first.pk is not None and first._state.adding is False
    assert inserts.insert_unless_taken(second, unique=("principal", "key")) is False
    assert second.pk is None and second._state.adding is True  # not written: still a new instance
    assert list(IdempotencyRecord.objects.filter(principal=user).values_list("status_code", flat=True)) == [201]


def test_values_written_as_they_are_and_values_the_orm_prepares_read_back_alike():
    """Plain str/int/bool values skip the ORM's preparation; a lazy string, an enum member, a bool in an
    integer column and a foreign key given as a row still go through it and are stored as save() stores them."""
    from django.utils.functional import lazy

    from incidents.vocabulary import TLP

    lazy_text = lazy(lambda: "incident.lazy", str)()
    event = Event(created_at=AT, kind=lazy_text, subject_type=TLP.AMBER, subject_id="7", payload={})
    record = IdempotencyRecord(principal=UserFactory(), key="k-1", method="POST", path="/api/v1/x/",
                               request_hash="h", status_code=True, response_body={}, response_headers={})
    inserts.insert(event)
    inserts.insert(record)
    stored = Event.objects.get(pk=event.pk)
    assert (stored.kind, stored.subject_type, stored.subject_id) == ("incident.lazy", "amber", "7")
    stored = IdempotencyRecord.objects.get(pk=record.pk)
    assert stored.status_code == 1 and stored.principal_id == record.principal.pk


def test_an_event_and_its_audience_are_written_together_in_one_statement_on_postgresql():
    from django.test.utils import CaptureQueriesContext

    groups = [Group.objects.create(name=f"insert-link-{n}") for n in range(3)]
    first, alone = _event(1), _event(2)
    with CaptureQueriesContext(connection) as queries:
        inserts.insert_with_links(first, link=EventAudience, to="event", other="group", ids=[g.pk for g in groups])
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    inserts.insert_with_links(alone, link=EventAudience, to="event", other="group", ids=[])

    assert alone.pk == first.pk + 1 and first._state.adding is False and first._state.db == "default"
    assert _columns(Event.objects.get(pk=first.pk))["payload"] == first.payload
    assert sorted(EventAudience.objects.filter(event=first).values_list("group_id", flat=True)) == [g.pk for g in groups]
    assert Event.objects.filter(pk=alone.pk).exists() and not EventAudience.objects.filter(event=alone).exists()


def test_a_row_its_links_and_its_children_are_written_together_in_one_statement_on_postgresql(network):
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Deadline, Incident, IncidentGroupObjectPermission
    from incidents.selectors import grant_permission_ids

    org = network["orgs"]["de-csirt"]
    states = [network["orgs"][code].member_state_id for code in ("de-csirt", "fr-csirt")]
    incident = Incident(title="Linked", reporting_organisation=org, reported_by=network["people"]["de_analyst"],
                        aware_at=AT, tlp="amber", created_at=AT, updated_at=AT)
    permission_ids = grant_permission_ids()
    grants = [IncidentGroupObjectPermission(permission_id=permission_ids[name], group_id=org.group_id,
                                            content_object=incident) for name in sorted(permission_ids)]
    deadlines = [Deadline(incident=incident, clock=clock, due_at=AT.replace(day=day), met_at=met)
                 for clock, day, met in (("early_warning", 24, AT), ("notification", 26, None), ("final", 28, None))]
    def links(name, ids):
        field = Incident._meta.get_field(name)
        return inserts.Links(field.remote_field.through, field.m2m_field_name(), field.m2m_reverse_field_name(), ids)

    with CaptureQueriesContext(connection) as queries:
        inserts.insert_with_related(
            incident, links=[links("affected_member_states", states), links("sectors", [])],
            children=[inserts.Children("content_object", grants), inserts.Children("incident", deadlines),
                      inserts.Children("incident", [])])
    assert len(queries) == (1 if connection.vendor == "postgresql" else 4)  # incident, its states, grants, clocks

    assert incident.pk and incident._state.adding is False
    assert sorted(incident.affected_member_states.values_list("id", flat=True)) == sorted(states)
    assert not incident.sectors.exists()
    stored = {row.pk: row for row in Deadline.objects.filter(incident=incident)}
    assert [d.pk for d in deadlines] == sorted(stored), "each in-memory clock got its own row's key, in order"
    for deadline in deadlines:
        assert deadline._state.adding is False and deadline.incident_id == incident.pk
        assert _columns(stored[deadline.pk]) == _columns(deadline)
    with CaptureQueriesContext(connection) as reads:
        assert all(d.incident is incident and g.content_object is incident for d in deadlines for g in grants)
    assert not reads.captured_queries, "the new row stays cached on its children"
    assert sorted(IncidentGroupObjectPermission.objects.filter(content_object=incident).values_list(
        "id", "permission_id")) == sorted((g.pk, g.permission_id) for g in grants)


def test_children_of_another_model_than_their_first_are_refused_and_nothing_is_written(network):
    from django.db import transaction

    from incidents.models import Deadline, Incident, TimelineEntry

    org = network["orgs"]["de-csirt"]
    incident = Incident(title="Mixed", reporting_organisation=org, reported_by=network["people"]["de_analyst"],
                        aware_at=AT, tlp="amber", created_at=AT, updated_at=AT)
    mixed = [Deadline(incident=incident, clock="early_warning", due_at=AT), TimelineEntry(incident=incident)]
    with pytest.raises(TypeError), transaction.atomic():
        inserts.insert_with_related(incident, children=[inserts.Children("incident", mixed)])
    assert not Incident.objects.filter(title="Mixed").exists()
