"""Assertions shared by the API tests."""


def assert_error(response, status: int, *, code: str | None = None, fields=(), says: str = "") -> dict:
    """The response is the API's one JSON error shape, with this status, code, fields and wording."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == status
    if code:
        assert error["code"] == code
    for name in fields:
        assert name in error["fields"], error
    assert says.lower() in error["message"].lower() + " ".join(map(str, error["fields"].values())).lower(), error
    return error
