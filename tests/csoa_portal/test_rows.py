"""csoa_portal.rows reads and writes rows as the ORM does, with SQL built once (every API write uses it)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from csoa_portal import rows
from csoa_portal.models import AuditEntry, IdempotencyRecord

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in IdempotencyRecord._meta.concrete_fields]


@pytest.fixture
def user(network):
    return network["people"]["de_analyst"]


def _record(user, key, **extra):
    return IdempotencyRecord.objects.create(
        principal=user, key=key, method="POST", path="/api/v1/incidents/", request_hash="0" * 64, status_code=201,
        response_body={"id": 7, "tags": ["tlp:amber"], "nested": {"at": "2026-11-23T06:00:00Z"}},
        response_headers={"Location": "/api/v1/incidents/7/"}, created_at=datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
        **extra)


def test_fetch_reads_the_same_values_as_the_orm_json_and_aware_datetimes_included(user):
    _record(user, "a"), _record(user, "b")

    found = rows.fetch(IdempotencyRecord, using=connection.alias, principal=user.pk, key="b")

    assert len(found) == 1
    orm = IdempotencyRecord.objects.get(principal=user, key="b")
    assert [getattr(found[0], name) for name in FIELDS] == [getattr(orm, name) for name in FIELDS]
    assert found[0].created_at.tzinfo is not None and found[0]._state.adding is False


def test_fetch_of_no_match_is_empty_and_of_no_field_is_refused():
    assert rows.fetch(IdempotencyRecord, using=connection.alias, key="nobody") == []
    with pytest.raises(TypeError):
        rows.fetch(IdempotencyRecord, using=connection.alias)


def test_update_many_writes_each_rows_values_by_its_key_and_nothing_else(user):
    first, second, third = (_record(user, key) for key in "xyz")

    rows.update_many(IdempotencyRecord, using=connection.alias, names=("status_code", "response_body"), where=("id",),
                     rows=[(200, {"replaced": 1}, first.pk), (409, None, second.pk)])

    stored = {r.key: (r.status_code, r.response_body) for r in IdempotencyRecord.objects.filter(principal=user)}
    assert stored == {"x": (200, {"replaced": 1}), "y": (409, None), "z": (201, third.response_body)}


@pytest.mark.parametrize("count", [3, 20])  # a statement kept per row count, and one built for a long batch
def test_update_many_of_several_rows_is_one_statement_on_postgresql(user, count):
    records = [_record(user, f"k{i}") for i in range(count)]
    when = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    with CaptureQueriesContext(connection) as captured:
        rows.update_many(IdempotencyRecord, using=connection.alias, names=("status_code", "created_at"),
                         where=("id",), rows=[(300 + i, when, r.pk) for i, r in enumerate(records)])
    # A connection that prepares statements (csoa_portal.prepared) sends a PREPARE the first time: not a write.
    sent = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("PREPARE ")]
    assert len(sent) == 1, sent  # an executemany is captured once too, as "N times: UPDATE …"
    if connection.vendor == "postgresql":  # not an executemany: one UPDATE … FROM (VALUES …), or its prepared EXECUTE
        assert "FROM (VALUES" in sent[0] or sent[0].startswith("EXECUTE "), sent[0][:200]
    stored = dict(IdempotencyRecord.objects.filter(principal=user).values_list("key", "status_code"))
    assert stored == {f"k{i}": 300 + i for i in range(count)}
    assert set(IdempotencyRecord.objects.filter(principal=user).values_list("created_at", flat=True)) == {when}


def test_a_compiled_queryset_is_read_as_instances_and_any_row_says_whether_it_selects_one(user):
    _record(user, "k")

    def build():
        return IdempotencyRecord.objects.filter(status_code=201).order_by("id")

    assert [r.key for r in rows.fetch_compiled(("test: created", 1), build, using=connection.alias)] == ["k"]
    assert rows.any_row(("test: created", 2), build, using=connection.alias)
    assert not rows.any_row("test: none", lambda: AuditEntry.objects.filter(action="never"), using=connection.alias)


def test_related_reads_prefetched_rows_without_a_query_and_queries_otherwise(network, django_assert_num_queries):
    from liaison.models import Organisation

    organisation = Organisation.objects.filter(memberships__isnull=False).distinct().first()
    expected = sorted(m.pk for m in organisation.memberships.all())
    assert expected
    fresh = Organisation.objects.get(pk=organisation.pk)
    with django_assert_num_queries(1):  # nothing held: the manager's query
        assert sorted(m.pk for m in rows.related(fresh, "memberships")) == expected
    held = Organisation.objects.prefetch_related("memberships").get(pk=organisation.pk)
    with django_assert_num_queries(0):
        assert sorted(m.pk for m in rows.related(held, "memberships")) == expected
