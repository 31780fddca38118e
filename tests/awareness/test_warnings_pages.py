"""The public-warning pages: the editor's facts panel, refusals on the page, 404 for those who may not see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from awareness.models import PublicWarning
from tests.awareness import warnings_support
from tests.awareness.warnings_support import circulated, draft

cross_border = warnings_support.cross_border  # the fixture

pytestmark = pytest.mark.django_db


def test_the_editor_marks_non_clear_facts_as_not_usable(cross_border, login):
    client = login(cross_border["people"]["de_analyst"])
    page = client.get(reverse("awareness:warning_new") + f"?incident={cross_border['incident'].pk}")
    assert page.status_code == 200
    html = page.content.decode()
    amber = f'data-fact="observable:{cross_border["amber_ip"].pk}"'
    clear = f'data-fact="observable:{cross_border["clear_ip"].pk}"'
    assert amber in html and clear in html
    amber_item = html[html.index(amber):html.index("</li>", html.index(amber))]
    assert "Not usable" in amber_item and "TLP:AMBER" in amber_item and 'type="checkbox"' not in amber_item
    clear_item = html[html.index(clear):html.index("</li>", html.index(clear))]
    assert 'type="checkbox"' in clear_item


def test_posting_a_non_clear_fact_on_the_page_is_refused_and_nothing_is_drafted(cross_border, login):
    client = login(cross_border["people"]["de_analyst"])
    page = client.post(reverse("awareness:warning_new"), {
        "incident": cross_border["incident"].pk, "title": "Rail outages", "body": "Text",
        "facts": [f"timeline:{cross_border['red_note'].pk}"]})
    assert page.status_code == 400
    assert "TLP:RED" in page.content.decode() and "Only TLP:CLEAR facts" in page.content.decode()
    assert not PublicWarning.objects.exists()


def test_drafting_on_the_page_then_the_status_table_shows_who_agreed(cross_border, login):
    people = cross_border["people"]
    drafter = login(people["de_analyst"])
    page = drafter.post(reverse("awareness:warning_new"), {
        "incident": cross_border["incident"].pk, "title": "Rail outages", "body": "Text",
        "facts": [f"observable:{cross_border['clear_ip'].pk}"]})
    warning = PublicWarning.objects.get()
    assert page.status_code == 302
    deadline = (timezone.localtime(timezone.now() + timedelta(days=1))).strftime("%Y-%m-%dT%H:%M")
    assert drafter.post(reverse("awareness:warning_circulate", args=[warning.pk]),
                        {"response_deadline": deadline}).status_code == 302
    fr = login(people["fr_analyst"])
    assert fr.post(reverse("awareness:warning_respond", args=[warning.pk]), {"response": "agreed"}).status_code == 302
    html = drafter.get(reverse("awareness:warning_detail", args=[warning.pk])).content.decode()
    row = html[html.index('data-state="FR"'):html.index("</tr>", html.index('data-state="FR"'))]
    assert "Agreed" in row and "CERT-FR" in row
    assert "1 of 2 concerned member states agreed" in html


def test_an_embargo_in_the_past_on_the_page_is_400_naming_it(cross_border, login):
    people = cross_border["people"]
    warning = circulated(cross_border)
    login(people["fr_analyst"]).post(reverse("awareness:warning_respond", args=[warning.pk]), {"response": "agreed"})
    login(people["de_liaison"]).post(reverse("awareness:warning_respond", args=[warning.pk]), {"response": "declined"})
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page = login(people["de_analyst"]).post(reverse("awareness:warning_schedule", args=[warning.pk]),
                                             {"publish_at": past})
    assert page.status_code == 400 and "is in the past" in page.content.decode()
    warning.refresh_from_db()
    assert warning.status == "circulated"


def test_organisations_that_may_not_see_a_warning_get_404_on_every_page(cross_border, login):
    warning = circulated(cross_border)
    client = login(cross_border["people"]["pt_analyst"])
    for name in ("warning_detail", "warning_edit"):
        assert client.get(reverse(f"awareness:{name}", args=[warning.pk])).status_code == 404, name
    for name in ("warning_respond", "warning_schedule", "warning_withdraw", "warning_circulate"):
        assert client.post(reverse(f"awareness:{name}", args=[warning.pk]), {"response": "agreed"}).status_code == 404
    # A draft is the drafter's alone, even for a concerned authority.
    other = draft(cross_border)
    assert login(cross_border["people"]["fr_analyst"]).get(
        reverse("awareness:warning_detail", args=[other.pk])).status_code == 404


def test_enisa_sees_the_warning_but_its_state_is_not_concerned(cross_border, login):
    warning = circulated(cross_border)
    client = login(cross_border["people"]["enisa_triage"])
    assert "Your member state is not concerned" in client.get(
        reverse("awareness:warning_detail", args=[warning.pk])).content.decode()
    answer = client.post(reverse("awareness:warning_respond", args=[warning.pk]), {"response": "agreed"})
    assert answer.status_code == 403
    assert set(warning.participations.values_list("response", flat=True)) == {"pending"}


def test_the_list_offers_drafting_and_the_released_page_links_the_public_copy(cross_border, login):
    from freezegun import freeze_time

    from awareness.services import warnings as services

    people = cross_border["people"]
    client = login(people["de_analyst"])
    listing = client.get(reverse("awareness:warning_list")).content.decode()
    assert f"?incident={cross_border['incident'].pk}" in listing
    warning = circulated(cross_border)
    services.respond_to_warning(actor=people["fr_analyst"], warning=warning, response="agreed")
    services.respond_to_warning(actor=people["de_liaison"], warning=warning, response="agreed")
    warning = services.schedule_release(actor=people["de_analyst"], warning=warning,
                                        publish_at=timezone.now() + timedelta(minutes=5))
    with freeze_time(warning.publish_at):
        services.release_due_warnings()
    page = client.get(reverse("awareness:warning_detail", args=[warning.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Released together at" in html and reverse("awareness:warning_public_json", args=[warning.pk]) in html
    assert "Edit the text" not in html
    assert warning.reference in client.get(reverse("awareness:warning_list")).content.decode()


def test_the_drafter_revises_a_draft_on_its_edit_page_and_a_bad_revision_changes_nothing(cross_border, login):
    warning = draft(cross_border)
    drafter = login(cross_border["people"]["de_analyst"])
    edit = reverse("awareness:warning_edit", args=[warning.pk])
    clear_fact = f"observable:{cross_border['clear_ip'].pk}"

    refused = drafter.post(edit, {"title": "Rail outages", "body": "Text",
                                  "facts": [f"timeline:{cross_border['red_note'].pk}"]})
    assert refused.status_code == 400 and "Only TLP:CLEAR facts" in refused.content.decode()
    warning.refresh_from_db()
    assert warning.title == "Rail ticketing outages: what travellers should know"

    revised = drafter.post(edit, {"title": "Rail outages: revised", "body": "New text", "facts": [clear_fact]},
                           follow=True)
    assert revised.redirect_chain[-1][0] == reverse("awareness:warning_detail", args=[warning.pk])
    assert f"{warning.reference} revised." in revised.content.decode()
    warning.refresh_from_db()
    assert (warning.title, warning.body) == ("Rail outages: revised", "New text")
    assert list(warning.facts.values_list("key", flat=True)) == [clear_fact]
