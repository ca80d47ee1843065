"""email_notification: templates rendered and sent to a real SMTP server, delivery tracked per recipient."""

from __future__ import annotations

import pytest

from tests.support.smtp_server import SmtpServer, certificate_authority
from tests.support.task_context import RecordingContext
from zapq.background.handlers import TASK_TYPES, PermanentTaskError
from zapq.background.types.email_notification import EmailNotSent

pytestmark = pytest.mark.processes  # an SMTP server of its own
send = TASK_TYPES["email_notification"].handler
SENDER = "Zapq Seminovos <avisos@zapq.test>"

TEST_DRIVE = {
    "subject": "Test drive do $car confirmado",
    "text_body": "Olá, $name!\nSeu test drive do $car está marcado para $when. Preço: R$$ $price.",
    "html_body": "<p>Olá, <b>$name</b>!</p><p>${car} em $when.</p>",
    "variables": {"name": "Ana <script>alert(1)</script> & cia", "car": "Corolla 2022", "when": "sábado, 10h",
                  "price": "95.000"},
}  # fmt: skip


@pytest.fixture
def smtp(environment):
    server = SmtpServer().start()
    environment(SMTP_URL=f"smtp://127.0.0.1:{server.port}", SMTP_FROM=SENDER, SMTP_TIMEOUT_S="5")
    yield server
    server.stop()


def test_the_message_is_rendered_and_sent_and_each_recipient_is_tracked(smtp):
    context = RecordingContext(task_id="7f3c9a")

    result = send(
        context, {**TEST_DRIVE, "to": ["ana@cliente.test", "recusado@cliente.test", "vendas@loja.test"]}
    )

    [mail] = smtp.received
    assert mail.rcpt_tos == ["ana@cliente.test", "vendas@loja.test"]
    assert mail.mail_from == "avisos@zapq.test"
    assert mail.message["Subject"] == "Test drive do Corolla 2022 confirmado"
    assert mail.message["From"] == SENDER and mail.message["Message-ID"] == "<task-7f3c9a@zapq>"
    assert mail.body("plain").startswith(
        "Olá, Ana <script>alert(1)</script> & cia!\n"
        "Seu test drive do Corolla 2022 está marcado para sábado, 10h."
        " Preço: R$ 95.000."
    )
    assert mail.body("html").strip() == (
        "<p>Olá, <b>Ana &lt;script&gt;alert(1)&lt;/script&gt; &amp; cia</b>!</p>"
        "<p>Corolla 2022 em sábado, 10h.</p>"
    )
    assert result["accepted"] == 2 and result["refused"] == 1
    assert result["recipients"] == [
        {"address": "ana@cliente.test", "accepted": True},
        {
            "address": "recusado@cliente.test",
            "accepted": False,
            "code": 550,
            "reason": "5.1.1 mailbox unavailable",
        },
        {"address": "vendas@loja.test", "accepted": True},
    ]
    assert context.logged("2 of 3 recipients accepted")


def test_a_text_only_message_has_no_html_part(smtp):
    send(RecordingContext(), {"to": ["ana@cliente.test"], "subject": "Oi", "text_body": "Só texto."})

    [mail] = smtp.received
    assert mail.message.get_content_type() == "text/plain" and mail.body("plain").strip() == "Só texto."


def test_a_line_break_in_a_variable_cannot_add_a_header(smtp):
    send(
        RecordingContext(),
        {"to": ["ana@cliente.test"], "subject": "Oi $name", "text_body": "x",
         "variables": {"name": "Ana\r\nBcc: intruso@fora.test"}},
    )  # fmt: skip

    [mail] = smtp.received
    assert mail.message["Bcc"] is None and mail.rcpt_tos == ["ana@cliente.test"]
    assert mail.message["Subject"] == "Oi Ana Bcc: intruso@fora.test"


def test_every_recipient_refused_for_good_fails_the_task_for_good(smtp):
    with pytest.raises(PermanentTaskError, match=r"recusado@cliente\.test: 550"):
        send(RecordingContext(), {"to": ["recusado@cliente.test"], "subject": "Oi", "text_body": "x"})
    assert smtp.received == []


def test_every_recipient_refused_with_one_for_now_is_retried(smtp):
    with pytest.raises(EmailNotSent, match=r"depois@cliente\.test: 450"):
        send(RecordingContext(), {"to": ["recusado@a.test", "depois@cliente.test"],
                                  "subject": "Oi", "text_body": "x"})  # fmt: skip


def test_starttls_and_login_reach_a_server_that_requires_both(environment, tmp_path):
    tls_context, ca_file = certificate_authority(tmp_path)
    server = SmtpServer(tls_context=tls_context, users={"zapq": "s3nh@ forte"}).start()
    try:
        environment(
            SMTP_URL=f"smtp://zapq:s3nh%40%20forte@127.0.0.1:{server.port}?starttls=true",
            SMTP_CA_FILE=str(ca_file),
        )
        result = send(RecordingContext(), {"to": ["ana@cliente.test"], "subject": "Oi", "text_body": "x"})
        environment(SMTP_URL=f"smtp://zapq:errada@127.0.0.1:{server.port}?starttls=true")
        with pytest.raises(PermanentTaskError, match="SMTPAuthenticationError"):
            send(RecordingContext(), {"to": ["ana@cliente.test"], "subject": "Oi", "text_body": "x"})
        environment(
            SMTP_URL=f"smtp://zapq:s3nh%40%20forte@127.0.0.1:{server.port}?starttls=true", SMTP_CA_FILE=""
        )
        with pytest.raises(PermanentTaskError, match="SSLCertVerificationError"):
            send(RecordingContext(), {"to": ["ana@cliente.test"], "subject": "Oi", "text_body": "x"})
    finally:
        server.stop()

    assert result["accepted"] == 1
    assert [(mail.login, mail.rcpt_tos) for mail in server.received] == [("zapq", ["ana@cliente.test"])]


def test_a_server_that_is_down_is_retried(environment):
    environment(SMTP_URL="smtp://127.0.0.1:9", SMTP_TIMEOUT_S="2")
    context = RecordingContext()

    with pytest.raises(EmailNotSent, match="ConnectionRefusedError"):
        send(context, {"to": ["ana@cliente.test"], "subject": "Oi", "text_body": "x"})
    assert context.logged("attempt 1: SMTP 127.0.0.1:9 (none) -> ConnectionRefusedError")


def test_without_smtp_url_the_task_fails_for_good_naming_it(environment):
    environment(SMTP_URL="")

    with pytest.raises(PermanentTaskError, match="SMTP_URL"):
        send(RecordingContext(), {"to": ["ana@cliente.test"], "subject": "Oi", "text_body": "x"})


@pytest.mark.parametrize(
    ("changes", "named"),
    [({"to": []}, "to"), ({"to": ["not-an-address"]}, "to"),
     ({"subject": "Oi $nome"}, r"subject uses \$nome"),
     ({"html_body": "<p>${name</p>"}, "html_body has a `\\$`"), ({"variables": {"1x": "a"}}, "variables"),
     ({"bcc": ["x@y.test"]}, "bcc")],
    ids=["no-recipient", "bad-address", "unknown-variable", "broken-placeholder", "bad-variable-name",
         "unknown-field"],
)  # fmt: skip
def test_a_payload_that_cannot_work_is_refused_naming_the_field(changes, named):
    payload = {
        "to": ["ana@cliente.test"],
        "subject": "Oi",
        "text_body": "x",
        "variables": {"name": "Ana"},
        **changes,
    }

    with pytest.raises(PermanentTaskError, match=named):
        send(RecordingContext(), payload)
