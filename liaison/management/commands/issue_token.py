"""Issue an organisation API token from the command line, for automation.

Only the token is printed on stdout (``TOKEN=$(manage.py issue_token …)``); what was
issued goes to stderr. Bad input writes nothing: the service runs in one transaction.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from csoa_portal import tokens
from csoa_portal.context import origin
from liaison import selectors, services


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create an API token for an organisation's SOC tooling and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organisation code, e.g. de-csirt.")
        parser.add_argument("--scopes", required=True, help="Comma-separated scopes: read, write or read,write.")
        parser.add_argument(
            "--days",
            type=int,
            default=tokens.DEFAULT_DAYS,
            help=f"Lifetime in days, 1–{tokens.MAX_DAYS} (default {tokens.DEFAULT_DAYS}).",
        )
        parser.add_argument("--name", default="", help="What will use the token (default: 'issued by command').")

    def handle(self, *args, org, scopes, days, name, **options):
        organisation = selectors.organisations().filter(code=org.strip().lower()).first()
        if organisation is None:
            raise CommandError(f"No organisation with code '{org}'.")
        if not organisation.is_active:
            raise CommandError(f"The organisation '{organisation.code}' is inactive: no token issued.")
        with origin(via="command", organisation_code=organisation.code):
            try:
                token, raw = services.issue_api_token(
                    actor=None,
                    organisation=organisation,
                    name=name or "issued by command",
                    scopes=scopes,
                    days=days,
                )
            except ValidationError as exc:
                raise CommandError(f"No token issued. {_describe(exc)}") from None
        self.stderr.write(
            f"Issued token '{token.name}' ({token.prefix}…) for {organisation.code}, "
            f"scopes {','.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC."
        )
        self.stdout.write(raw)
