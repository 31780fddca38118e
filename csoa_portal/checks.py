"""System checks that keep production honest."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def production_mode_checks(app_configs, **kwargs):
    errors = []
    if settings.PRODUCTION and settings.PORTAL_MODE != "full":
        errors.append(Error("Production needs full mode: set REDIS_URL.", id="csoa.E001"))
    if settings.PRODUCTION and "sqlite" in settings.DATABASES["default"]["ENGINE"]:
        errors.append(Error("Production needs PostgreSQL: set DATABASE_URL.", id="csoa.E002"))
    return errors
