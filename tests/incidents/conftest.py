from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services


@pytest.fixture
def incident(network):
    """An AMBER incident of de-csirt, aware two hours ago."""
    return services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Ransomware at a DSO",
        aware_at=timezone.now() - timedelta(hours=2), tlp="amber", severity="high",
    )
