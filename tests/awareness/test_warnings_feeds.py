"""The public copies: JSON Feed 1.1, RSS 2.0 and public.json carry released warnings only, CLEAR content only."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from awareness.services import warnings as services
from tests.awareness import warnings_support
from tests.awareness.warnings_support import circulated

cross_border = warnings_support.cross_border  # the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border)
    services.respond_to_warning(actor=people["de_liaison"], warning=warning, response="agreed", own_language="de",
                                own_title="Störungen im Bahnverkehr", own_text="Deutscher Text.")
    services.respond_to_warning(actor=people["fr_analyst"], warning=warning, response="declined")
    return services.schedule_release(actor=people["de_analyst"], warning=warning,
                                     publish_at=timezone.now() + timedelta(hours=1))


def _feeds(client):
    return (client.get(reverse("awareness:warnings_json_feed")), client.get(reverse("awareness:warnings_rss_feed")))


def test_nothing_is_public_before_release(scheduled):
    anonymous = Client()
    json_feed, rss = _feeds(anonymous)
    assert json_feed.status_code == 200 and json_feed.json()["items"] == []
    assert ElementTree.fromstring(rss.content).findall("./channel/item") == []
    assert anonymous.get(reverse("awareness:warning_public_json", args=[scheduled.pk])).status_code == 404


def test_after_release_anonymous_readers_get_each_agreed_version_and_only_clear_content(scheduled, cross_border):
    with freeze_time(scheduled.publish_at):
        services.release_due_warnings()
    anonymous = Client()
    json_feed, rss = _feeds(anonymous)
    assert json_feed["Content-Type"] == "application/feed+json"
    feed = json_feed.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [(i["language"], i["title"]) for i in feed["items"]] == [("de", "Störungen im Bahnverkehr")]
    assert feed["items"][0]["date_published"] == scheduled.publish_at.isoformat()
    titles = [i.findtext("title") for i in ElementTree.fromstring(rss.content).findall("./channel/item")]
    assert titles == ["[DE] Störungen im Bahnverkehr"]
    public = anonymous.get(reverse("awareness:warning_public_json", args=[scheduled.pk]))
    assert public.status_code == 200
    text = public.content.decode()
    assert "203.0.113.5" in text  # the CLEAR observable it cited
    for secret in ("198.51.100.7", "source protected"):  # the AMBER observable and the RED note never appear
        assert secret not in text and secret not in json_feed.content.decode() and secret not in rss.content.decode()
    assert [v["member_state"] for v in public.json()["versions"]] == ["DE"]
