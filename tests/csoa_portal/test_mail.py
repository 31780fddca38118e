"""Demo e-mails do not flood the terminal: in embedded mode each is written to var/mail/ and logged in one line."""

import logging
import os
import subprocess
import sys
from pathlib import Path

from django.core import mail

ROOT = Path(__file__).resolve().parents[2]
BACKEND = "csoa_portal.mail.FileAndLineBackend"


def _setting(name: str, **env) -> str:
    """A setting as a fresh process in the given mode reads it (no test overrides)."""
    own = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**base, "DJANGO_SETTINGS_MODULE": "csoa_portal.settings", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_embedded_mode_writes_mail_to_var_mail_and_full_mode_keeps_the_console():
    assert _setting("EMAIL_BACKEND") == BACKEND
    assert _setting("EMAIL_FILE_PATH") == str(ROOT / "var" / "mail")
    assert _setting("EMAIL_BACKEND", REDIS_URL="redis://127.0.0.1:6379/0") == \
        "django.core.mail.backends.console.EmailBackend"


def test_each_message_is_kept_whole_in_a_file_and_logged_in_one_line(settings, tmp_path, caplog):
    settings.EMAIL_BACKEND = BACKEND
    settings.EMAIL_FILE_PATH = str(tmp_path)
    many = [f"officer{n}@fr-csirt.example" for n in range(5)]
    with caplog.at_level(logging.INFO, logger="csoa_portal.mail"):
        sent = mail.send_mass_mail([
            ("[CSoA Portal] INC-2026-000001 shared with you (TLP:AMBER)", "Open it after logging in: https://x/1/",
             "portal@example.eu", ["analyst@de-csirt.example"]),
            ("[CSoA Portal] Alert, level 2", "Acknowledge it on your board.", "portal@example.eu", many),
        ])
    assert sent == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "csoa_portal.mail"]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("mail to analyst@de-csirt.example: [CSoA Portal] INC-2026-000001 shared with you")
    assert lines[1].startswith("mail to officer0@fr-csirt.example, officer1@fr-csirt.example, "
                               "officer2@fr-csirt.example and 2 more: [CSoA Portal] Alert, level 2")
    written = "".join(path.read_text() for path in tmp_path.iterdir())
    assert "Open it after logging in: https://x/1/" in written and "Acknowledge it on your board." in written
