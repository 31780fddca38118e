from datetime import timedelta
from django.utils import timezone
from incidents import services
from tests.factories import member_state

def test_smoke(network, incident, login, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    de = network["people"]["de_analyst"]
    services.update_incident(actor=de, incident=incident, affected_member_states=[member_state("DE"), member_state("FR")])
    services.add_observables(actor=de, incident=incident, rows=[{"type": "ipv4", "value": "1.2.3.4"}])
    c = login(de)
    for url in ["/incidents/", "/incidents/new/", f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/edit/",
                f"/incidents/{incident.pk}/share/", "/incidents/search/?q=1.2.3.4", f"/incidents/{incident.pk}/stix/",
                "/incidents/?status=open&overdue=true&tlp=amber&member_state=FR&sector=energy&category=availability&crisis_level=0&updated_since=2020-01-01&q=INC"]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.content[:3000])
    open("/tmp/scratch/detail.html", "wb").write(c.get(f"/incidents/{incident.pk}/").content)
    open("/tmp/scratch/list.html", "wb").write(c.get("/incidents/").content)
    open("/tmp/scratch/new.html", "wb").write(c.get("/incidents/new/").content)
