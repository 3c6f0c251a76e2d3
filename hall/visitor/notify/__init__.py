"""Notifying visitors (SMS, WeChat, e-mail …) through a pluggable backend chosen in config.toml [notify]."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One message to one visitor, known by phone number (from their booking or their ticket page)."""

    phone: str
    name: str
    subject: str
    text: str
    kind: str


class Notifier(Protocol):
    def send(self, message: Message) -> None:
        """Deliver the message or raise; delivery runs off the request thread."""


class LogNotifier:
    """Writes every message to the server log: the default, and a record where no gateway exists."""

    def send(self, message: Message) -> None:
        log.info("notify %s to %s: %s", message.kind, message.phone, message.text)


class NullNotifier:
    def send(self, message: Message) -> None:
        return None


class SmtpNotifier:
    """E-mail through an SMTP server (smtplib); `to` maps a phone to an address, e.g. an e-mail-to-SMS gateway."""

    def __init__(self, host: str, port: int, *, sender: str, to: str, user: str = "", password: str = "",
                 starttls: bool = False, timeout_s: float = 10) -> None:
        self.host, self.port, self.sender, self.to = host, port, sender, to
        self.user, self.password, self.starttls, self.timeout_s = user, password, starttls, timeout_s

    def send(self, message: Message) -> None:
        if not self.to:
            log.info("notify %s to %s skipped: no [notify] smtp_to address", message.kind, message.phone)
            return
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, self.to.format(phone=message.phone), message.subject
        mail.set_content(message.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(mail)


def _smtp(settings: dict[str, Any]) -> SmtpNotifier:
    return SmtpNotifier(settings["smtp_host"], settings["smtp_port"], sender=settings["smtp_from"],
                        to=settings["smtp_to"], user=settings["smtp_user"], password=settings["smtp_password"],
                        starttls=settings["smtp_starttls"], timeout_s=settings["smtp_timeout_s"])


#: Backend name → factory from the [notify] settings; add SMS or WeChat gateways here.
BACKENDS: dict[str, Callable[[dict[str, Any]], Notifier]] = {
    "log": lambda settings: LogNotifier(),
    "none": lambda settings: NullNotifier(),
    "smtp": _smtp,
}


def notifier_from(settings: dict[str, Any]) -> Notifier:
    backend = settings["backend"]
    if backend not in BACKENDS:
        raise ValueError(f"[notify] backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return BACKENDS[backend](settings)
