"""A real SMTP server (aiosmtpd) on a free local port, keeping what it receives, for the alert
tests; it accepts a login so that a configured password is really used."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from complaints.config import AlertSettings
from tests.postgres_cluster import free_port


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def settings(self, password: str | None = None) -> AlertSettings:
        return AlertSettings(
            host="127.0.0.1",
            port=self.port,
            sender="warehouse@example.org",
            recipients=("data-team@example.org", "on-call@example.org"),
            user="alerts" if password else None,
            password=password,
        )

    def environ(self, password: str | None = None) -> dict[str, str]:
        env = {
            "COMPLAINTS_ALERT_SMTP_HOST": "127.0.0.1",
            "COMPLAINTS_ALERT_SMTP_PORT": str(self.port),
            "COMPLAINTS_ALERT_FROM": "warehouse@example.org",
            "COMPLAINTS_ALERT_TO": "data-team@example.org, on-call@example.org",
        }
        if password:
            env |= {
                "COMPLAINTS_ALERT_SMTP_USER": "alerts",
                "COMPLAINTS_ALERT_SMTP_PASSWORD": password,
            }
        return env


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(free_port())

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        box.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)

    controller = Controller(
        _Handler(box),
        hostname="127.0.0.1",
        port=box.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def closed_port() -> int:
    """A local port nothing listens on (an unreachable mail server)."""
    return free_port()
