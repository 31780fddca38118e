"""Test data built through the real services, so tests exercise what users do."""

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from liaison import services
from liaison.models import MemberState, Organisation, User

PASSWORD = "correct horse battery staple"


def member_state(code: str) -> MemberState:
    return MemberState.objects.get(code=code)


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
