"""Test data built through the real services, so tests exercise what users do."""

from datetime import timezone as dt_timezone

import factory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from liaison import services
from liaison.models import CouncilPresidency, MemberState, Organisation, User

PASSWORD = "correct horse battery staple"


def member_state(code: str) -> MemberState:
    return MemberState.objects.get(code=code)


def presidency(code: str) -> CouncilPresidency:
    """Give today's Council Presidency to ``code`` (the seeded rotation has Ireland for 2026's second half)."""
    today = timezone.localdate(timezone=dt_timezone.utc)
    current = CouncilPresidency.objects.filter(starts_on__lte=today, ends_on__gte=today).first()
    if current is None:
        current = CouncilPresidency(starts_on=today, ends_on=today)
    current.member_state = member_state(code)
    return services.save_presidency(actor=None, presidency=current)


def organisation(code: str, kind: str, ms: str | None = None, name: str | None = None) -> Organisation:
    existing = Organisation.objects.filter(code=code).first()
    if existing:
        return existing
    return services.create_organisation(
        actor=None, code=code, name=name or code.upper(), kind=kind, member_state=member_state(ms) if ms else None
    )


def person(
    email: str, org: Organisation, roles=("analyst",), *, password: str = PASSWORD, totp: bool = True
) -> User:
    user = services.create_person(
        actor=None, email=email, full_name=email.split("@")[0].title(), organisation=org, roles=list(roles), password=password
    )
    if totp:
        TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    return user


class UserFactory(factory.django.DjangoModelFactory):
    """A bare person with no organisation, for tests of the user model itself."""

    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.eu")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)
