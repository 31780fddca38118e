"""E-mail in embedded mode: written to files under ``var/mail/``, one line per message on the console.

The demo sends real notifications (shares, alerts, Reserve steps); printed whole by Django's
console backend they flooded the terminal that shows the demo banner. Here each message is
kept in full as Django's file backend writes it (``EMAIL_FILE_PATH``, one file per
connection), and the log gets one line: who it went to and its subject.
"""

import logging

from django.core.mail.backends.filebased import EmailBackend as FileBackend

logger = logging.getLogger("csoa_portal.mail")
SHOWN_RECIPIENTS = 3


def one_line(message) -> str:
    """``mail to a@x, b@y: subject`` (``and N more`` beyond three recipients)."""
    recipients = message.recipients()
    shown = ", ".join(recipients[:SHOWN_RECIPIENTS])
    if len(recipients) > SHOWN_RECIPIENTS:
        shown += f" and {len(recipients) - SHOWN_RECIPIENTS} more"
    return f"mail to {shown or 'nobody'}: {message.subject}"


class FileAndLineBackend(FileBackend):
    """Django's file backend that also logs one line per message it wrote."""

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        if sent:
            for message in email_messages:
                if message.recipients():
                    logger.info("%s (in %s)", one_line(message), self.file_path)
        return sent
