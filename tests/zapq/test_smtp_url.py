"""SMTP_URL: server, security and login in one string; unusable ones refused at start, password unshown."""

from __future__ import annotations

import pytest

from zapq.settings import SettingsError, parse_settings
from zapq.smtp_url import SmtpServer, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "server"),
    [("smtp://mail.internal", SmtpServer("mail.internal", 25, "none")),
     ("smtp://u%40x:p%3Aw@mail.internal:587?starttls=true",
      SmtpServer("mail.internal", 587, "starttls", "u@x", "p:w")),
     ("smtps://user:pw@mail.internal", SmtpServer("mail.internal", 465, "tls", "user", "pw")),
     ("smtp://127.0.0.1:2525?starttls=false", SmtpServer("127.0.0.1", 2525, "none"))],
    ids=["plain", "starttls-login", "implicit-tls", "explicitly-plain"],
)  # fmt: skip
def test_an_smtp_url_names_host_port_security_and_login(url, server):
    assert parse_smtp_url(url) == server


@pytest.mark.parametrize(
    ("url", "problem"),
    [("http://mail.internal", "smtp:// or smtps://"), ("smtp://user:pw@mail.internal", "a user needs TLS"),
     ("smtp://mail.internal?starttls=maybe", "starttls must be"),
     ("smtp://mail.internal?tls=1", "unknown option"),
     ("smtp://:25", "no host"), ("smtp://mail.internal:99999", "port")],
    ids=["scheme", "login-in-clear", "starttls-value", "unknown-option", "no-host", "port"],
)  # fmt: skip
def test_an_smtp_url_that_cannot_work_is_refused_saying_why(url, problem):
    with pytest.raises(ValueError, match=problem):
        parse_smtp_url(url)


def test_settings_refuse_a_bad_smtp_url_without_showing_its_password():
    with pytest.raises(SettingsError, match=r"SMTP_URL=.*a user needs TLS") as raised:
        parse_settings({"SMTP_URL": "smtp://zapq:segredo@mail.internal"})
    assert "segredo" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEBHOOK_ALLOWED_HOSTS", "host:port"), ("TASK_RETRY_POLICIES", "webhook_delivery=many"),
     ("TASK_RETRY_POLICIES", "webhook_delivery=3:-1"), ("N8N_WEBHOOK_URL", "n8n.internal/webhook")],
    ids=["allowed-hosts", "retries", "negative-base", "n8n-scheme"],
)  # fmt: skip
def test_settings_of_the_task_types_are_checked_at_start(name, value):
    with pytest.raises(SettingsError, match=f"invalid environment variable {name}="):
        parse_settings({name: value})
