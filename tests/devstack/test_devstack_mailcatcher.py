import smtplib
from email.message import EmailMessage

import httpx
import pytest

from shared.devstack.mailcatcher import MailCatcher

pytestmark = pytest.mark.integration


@pytest.fixture
def catcher():
    with MailCatcher(http=True) as catcher:
        yield catcher


def send_mail(catcher, *, to, subject, text, html=None):
    message = EmailMessage()
    message["From"] = "EduConnect <ne-pas-repondre@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    # local_hostname avoids smtplib's socket.getfqdn(), a DNS lookup.
    with smtplib.SMTP(
        catcher.smtp_host, catcher.smtp_port, local_hostname="localhost", timeout=10
    ) as client:
        client.send_message(message)


def test_catcher_keeps_mail_sent_with_smtplib(catcher):
    send_mail(
        catcher,
        to="Zoé Œuvrard <zoe.oeuvrard@example.org>",
        subject="Demande de liaison refusée",
        text="Bonjour,\nla demande a été refusée.\n",
    )

    mail = catcher.wait_for(lambda mail: mail.is_to("ZOE.OEUVRARD@example.org"), 5)

    assert mail.mail_from == "ne-pas-repondre@example.org"
    assert mail.rcpt_tos == ("zoe.oeuvrard@example.org",)
    assert mail.subject == "Demande de liaison refusée"
    assert mail.text_body() == "Bonjour,\nla demande a été refusée.\n"
    assert mail.html_body() is None
    assert mail.message["To"].addresses[0].display_name == "Zoé Œuvrard"
    assert [kept.id for kept in catcher.messages()] == [mail.id]


def test_catcher_wait_for_timeout_lists_received(catcher):
    send_mail(catcher, to="a@example.org", subject="Premier", text="1")

    with pytest.raises(TimeoutError) as raised:
        catcher.wait_for(lambda mail: mail.is_to("b@example.org"), timeout=0.2)

    assert "1 received" in str(raised.value)
    assert "Premier" in str(raised.value)


def test_catcher_clear_forgets_mails(catcher):
    send_mail(catcher, to="a@example.org", subject="Premier", text="1")
    catcher.wait_for(lambda mail: True, 5)

    catcher.clear()

    assert catcher.messages() == []


def test_mail_page_lists_and_shows_mail(catcher):
    send_mail(
        catcher,
        to="parent@example.org",
        subject="Objet <script>alert(1)</script>",
        text="Votre identifiant : jdupont12",
        html="<p>Votre identifiant : <b>jdupont12</b></p>",
    )
    mail = catcher.wait_for(lambda mail: mail.is_to("parent@example.org"), 5)

    with httpx.Client(base_url=catcher.http_url, trust_env=False) as client:
        listing = client.get("/")
        detail = client.get(f"/messages/{mail.id}")
        source = client.get(f"/messages/{mail.id}/source")
        api = client.get("/api/messages")
        missing = client.get("/messages/999")

    assert listing.status_code == 200
    assert "Courriels reçus" in listing.text
    assert "parent@example.org" in listing.text
    assert "Objet &lt;script&gt;alert(1)&lt;/script&gt;" in listing.text
    assert "<script>" not in listing.text
    assert detail.status_code == 200
    assert "Votre identifiant : jdupont12" in detail.text
    assert 'sandbox title="Version HTML du courriel"' in detail.text
    assert "&lt;b&gt;jdupont12&lt;/b&gt;" in detail.text
    assert "Subject: Objet <script>" in source.text
    assert api.json()[0]["rcpt_tos"] == ["parent@example.org"]
    assert missing.status_code == 404


def test_mail_page_says_when_empty(catcher):
    with httpx.Client(base_url=catcher.http_url, trust_env=False) as client:
        listing = client.get("/")

    assert "Aucun courriel reçu" in listing.text


def test_stack_catcher_receives_on_notifier_port(devstack):
    env = devstack.service_env("notifier")
    address = f"notifier-{id(env)}@example.org"
    with smtplib.SMTP(
        env["NOTIFIER_SMTP_HOST"],
        int(env["NOTIFIER_SMTP_PORT"]),
        local_hostname="localhost",
        timeout=10,
    ) as client:
        client.sendmail(
            "notifier@example.org", [address], b"Subject: test\r\n\r\nok\r\n"
        )

    mail = devstack.mail.wait_for(lambda mail: mail.is_to(address), 5)

    assert mail.subject == "test"
