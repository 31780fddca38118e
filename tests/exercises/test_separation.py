"""The separation of exercises from live work, walked over every read path, generated (not listed).

The world (tests/exercises/support.py) holds the same story twice: in live work, every text
carries ``LIVE``; inside the exercise, ``DRILL``. The read paths are those of
tests/security/test_permission_matrix.py: every page of the URLconf and every GET operation of
the OpenAPI schema, each filled with the ids of the live objects and of the exercise's, plus the
event feed, the dashboard inbox, the board, STIX, the public warning feeds, the websocket replay
and the outbox. (1) In live work no body shows ``DRILL``; (2) in the exercise none shows
``LIVE``; (3) controls: the same paths show each side its own marker, so the test can fail.
"""

import asyncio

import pytest
from django.apps import apps
from django.test import Client

from csoa_portal.models import OutboxEmail
from liaison.exercises import SESSION_KEY, using_exercise
from liaison.models import Event
from liaison.selectors import events_visible_to
from tests.conftest import verified_client
from tests.exercises.support import DRILL, EXERCISE_NAME, LIVE, build_world, ids
from tests.reserve.conftest import reserve  # noqa: F401  (the fixture)
from tests.security.support import api_get_routes, body, fill, page_routes
from tests.security.test_permission_matrix import _replay

VIEWERS = ["de_analyst", "enisa_liaison", "ec_decision", "provider"]
QUERIES = {"/api/v1/observables/search/": {"value": "198.51.100.77"}, "/api/v1/events/": {"after": 0, "limit": 1000},
           "/incidents/search/": {"q": "198.51.100.77"}}
EXTRA_PAGES = ["/awareness/warnings/feed.json", "/awareness/warnings/feed.rss"]


@pytest.fixture
def world(reserve, settings, tmp_path, django_capture_on_commit_callbacks):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    return build_world(reserve, django_capture_on_commit_callbacks)


def _page_client(user, exercise=None) -> Client:
    client = verified_client(user)
    if exercise is not None:
        session = client.session
        session[SESSION_KEY] = exercise.pk
        session.save()
    return client


def _api_client(user, exercise=None) -> Client:
    client = verified_client(user)
    if exercise is not None:
        client.defaults["HTTP_X_EXERCISE"] = str(exercise.pk)
    return client


def _bodies(client, routes, id_sets) -> dict[str, str]:
    """Every generated URL (each route filled with each side's ids) and the body it answers."""
    seen = {}
    for route in routes:
        for values in id_sets:
            url = fill(route, values) if ("<" in route or "{" in route) else route
            if url is None or url in seen:
                continue
            seen[url] = body(client.get(url, QUERIES.get(route, {})))
    return seen


def _public(url: str) -> bool:
    return url.startswith("/awareness/warnings/feed") or url.endswith("/public.json")


def _walk(world, user, exercise):
    id_sets = [ids(world["live"]), ids(world["drill"])]
    pages = _bodies(_page_client(user, exercise), [*page_routes(), *EXTRA_PAGES], id_sets)
    api = _bodies(_api_client(user, exercise), api_get_routes(), id_sets)
    return {**pages, **{f"api {url}": text for url, text in api.items()}}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_in_live_work_no_read_path_shows_the_exercise_and_in_the_exercise_none_shows_live_work(world, viewer):
    user = world["people"][viewer]
    live = _walk(world, user, None)
    drill = _walk(world, user, world["exercise"])
    assert len(live) > 150 and len(drill) > 150, "the generated paths were not walked"

    assert [url for url, text in live.items() if DRILL in text] == []
    # The public's copies (feeds, public.json) are live work's whatever the reader works in: not exercise reads.
    assert [url for url, text in drill.items() if LIVE in text and not _public(url)] == []
    if viewer == "de_analyst":  # controls: each side sees its own marker on the same paths
        shown_live = {url for url, text in live.items() if LIVE in text}
        shown_drill = {url for url, text in drill.items() if DRILL in text}
        assert len(shown_live) > 40 and len(shown_drill) > 40
        for url in ("/", "/incidents/", "/incidents/board/", "/incidents/search/", "api /api/v1/events/",
                    "api /api/v1/incidents/", "api /api/v1/assistance-requests/", "api /api/v1/sitreps/",
                    "api /api/v1/warnings/", "api /api/v1/lessons/"):
            assert url in shown_live and url in shown_drill, url
        for side, shown in (("live", shown_live), ("drill", shown_drill)):  # the MISP feed's event of each incident
            assert f"api /api/v1/misp-feed/{world[side]['incident'].misp_uuid}.json" in shown
        for kind, path in (("incident", "/incidents/{}/stix/"), ("report", "/awareness/sitreps/{}/"),
                           ("warning", "/awareness/warnings/{}/"), ("engagement", "/reserve/engagements/{}/")):
            assert path.format(world["live"][kind].pk) in shown_live
            assert path.format(world["drill"][kind].pk) in shown_drill


def test_every_page_of_the_exercise_says_so_and_api_answers_carry_the_header(world):
    user, exercise = world["people"]["de_analyst"], world["exercise"]
    page = _page_client(user, exercise).get(f"/incidents/{world['drill']['incident'].pk}/")
    assert page.status_code == 200 and f"EXERCISE — {EXERCISE_NAME}" in page.content.decode()
    assert "EXERCISE —" not in _page_client(user).get("/incidents/").content.decode()
    answer = _api_client(user, exercise).get("/api/v1/incidents/")
    assert answer["X-Exercise"] == f'{exercise.pk}; name="{EXERCISE_NAME}"'
    assert "X-Exercise" not in _api_client(user).get("/api/v1/incidents/")


def test_the_public_warning_feeds_carry_live_released_warnings_only(world):
    anonymous = Client()
    for url in EXTRA_PAGES:
        text = body(anonymous.get(url))
        assert LIVE in text and DRILL not in text, url
    drill_warning = world["drill"]["warning"].pk
    assert anonymous.get(f"/awareness/warnings/{drill_warning}/public.json").status_code == 404


def test_every_model_with_an_exercise_key_is_reached_by_the_world(world):
    keys = {m: f for m in apps.get_models() for f in m._meta.concrete_fields if f.name == "exercise"}
    # An exercise's own preparation has a required key: no live twin, read by the exercise's controllers only
    # (its pages are tested in tests/scenarios). Anything else with an exercise key is work, on both sides.
    assert {m._meta.label for m, f in keys.items() if not f.null} == {"scenarios.Inject"}
    models = [m for m, f in keys.items() if f.null]
    assert len(models) >= 7
    for model in models:
        assert model.objects.filter(exercise=world["exercise"]).exists(), f"no exercise {model._meta.label}"
        assert model.objects.filter(exercise__isnull=True).exists(), f"no live {model._meta.label}"


def test_every_event_kind_of_the_world_stays_on_its_side_of_the_event_feed(world):
    exercise = world["exercise"]
    drill_kinds = set(Event.objects.filter(exercise=exercise).values_list("kind", flat=True))
    live_kinds = set(Event.objects.filter(exercise__isnull=True).values_list("kind", flat=True))
    assert len(drill_kinds) >= 25 and drill_kinds <= live_kinds, drill_kinds - live_kinds
    seen_live, seen_drill = set(), set()
    for user in world["people"].values():
        live, _ = events_visible_to(user, after=0, limit=5000)
        with using_exercise(exercise):
            drill, _ = events_visible_to(user, after=0, limit=5000)
        assert [e.kind for e in live if e.exercise_id is not None] == []
        assert [e.kind for e in drill if e.exercise_id != exercise.pk] == []
        seen_live |= {e.kind for e in live}
        seen_drill |= {e.kind for e in drill}
    assert drill_kinds - seen_drill == set(), "control: every exercise event kind reaches someone in the exercise"
    assert drill_kinds - seen_live == set(), "control: each kind has its live twin, seen in live work"


def test_exercise_e_mail_is_marked_and_live_e_mail_is_not(world):
    mails = list(OutboxEmail.objects.all())
    marked = [m for m in mails if m.subject.startswith(f"EXERCISE — {EXERCISE_NAME}: ")]
    assert marked and len(marked) < len(mails)
    assert all(m.dedupe_key.startswith(f"exercise:{world['exercise'].pk}:") for m in marked)
    assert all(not m.dedupe_key.startswith("exercise:") for m in mails if m not in marked)
    assert all(LIVE not in m.subject + m.body and DRILL not in m.subject + m.body or
               (DRILL in m.subject + m.body) == (m in marked) for m in mails)


@pytest.mark.django_db(transaction=True)
def test_the_websocket_replay_follows_live_work_or_the_exercise_it_asks_for(reserve, token_for, settings, tmp_path,  # noqa: F811
                                                                           django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    world = build_world(reserve, django_capture_on_commit_callbacks)
    exercise = world["exercise"]
    headers = [(b"authorization", f"Bearer {token_for(world['orgs']['de-csirt'], 'read')}".encode())]
    live = asyncio.run(_replay(headers))
    drill = asyncio.run(_replay_exercise(headers, exercise.pk))

    assert live and drill
    assert [f for f in live if DRILL in str(f)] == [] and [f for f in drill if LIVE in str(f)] == []
    drill_ids = set(Event.objects.filter(exercise=exercise).values_list("id", flat=True))
    assert {f["event"]["id"] for f in live} & drill_ids == set()
    assert {f["event"]["id"] for f in drill} <= drill_ids


async def _replay_exercise(headers, exercise_id):
    from csoa_portal.asgi import application
    from tests.security.test_permission_matrix import _websocket_communicator

    stream = _websocket_communicator()(application, f"/ws/events/?after=0&exercise={exercise_id}", headers=headers)
    connected, _ = await stream.connect(timeout=10)
    assert connected
    frames = []
    while (frame := await stream.receive_json_from(timeout=10))["type"] != "caught_up":
        frames.append(frame)
    await stream.disconnect()
    return frames
