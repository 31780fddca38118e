"""``manage.py issue_token``: a working token on stdout, or a clear refusal that writes nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from csoa_portal.models import ApiToken, AuditEntry
from liaison.models import Event, User


def _issue(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_issue_token_prints_only_a_working_token(network, bearer):
    out, err = _issue("--org", "de-csirt", "--scopes", "read,write", "--days", "7", "--name", "SIEM")

    raw = out.strip()
    assert out == raw + "\n" and raw.startswith("csoa_")
    assert "de-csirt" in err and raw not in err
    response = bearer(raw).get("/api/v1/organisations/de-csirt/")
    assert response.status_code == 200
    token = ApiToken.objects.get(prefix=raw.split("_")[1])
    assert (token.name, token.scopes, token.organisation.code) == ("SIEM", ["read", "write"], "de-csirt")


def test_issue_token_is_audited_as_a_command(network):
    out, _ = _issue("--org", "de-csirt", "--scopes", "read")

    token = ApiToken.objects.get(prefix=out.strip().split("_")[1])
    entry = AuditEntry.objects.get(action="token.created", object_id=str(token.pk))
    assert entry.via == "command"
    assert entry.organisation_code == "de-csirt"


@pytest.mark.parametrize(
    "args, says",
    [
        (["--org", "xx-nowhere", "--scopes", "read"], "No organisation with code 'xx-nowhere'"),
        (["--org", "de-csirt", "--scopes", "read,admin"], "Unknown scope(s): admin"),
        (["--org", "de-csirt", "--scopes", ","], "at least one scope"),
        (["--org", "de-csirt", "--scopes", "read", "--days", "0"], "between 1 and 365 days"),
        (["--org", "de-csirt", "--scopes", "read", "--days", "366"], "between 1 and 365 days"),
    ],
)
def test_issue_token_refuses_bad_input_and_writes_nothing(network, args, says):
    counts = [ApiToken.objects.count(), AuditEntry.objects.count(), Event.objects.count(), User.objects.count()]

    with pytest.raises(CommandError) as excinfo:
        _issue(*args)

    assert says in str(excinfo.value)
    assert excinfo.value.returncode != 0
    assert [ApiToken.objects.count(), AuditEntry.objects.count(), Event.objects.count(), User.objects.count()] == counts
