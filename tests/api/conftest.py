"""API fixtures: clients that present a bearer token."""

import pytest
from django.test import Client


@pytest.fixture
def bearer():
    """``bearer(raw)`` is a client sending ``Authorization: Bearer <raw>`` on every request."""

    def make(raw: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.fixture
def de_client(network, token_for, bearer):
    """de-csirt's SOC tooling with a read+write token."""
    return bearer(token_for(network["orgs"]["de-csirt"], "read,write"))

