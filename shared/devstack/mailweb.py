"""Web page listing the mails a MailCatcher received, in French like the product.

Routes: `/` lists the mails, `/messages/<id>` shows one, `/messages/<id>/source` returns
its raw source and `/api/messages` returns the list as JSON for scripts and browser
tests. Templates are auto-escaped, since mail content comes from the services.
"""

import json
import logging
import re
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from shared.devstack.ports import LOOPBACK

if TYPE_CHECKING:
    from shared.devstack.mailcatcher import MailCatcher, ReceivedMail

logger = logging.getLogger(__name__)


def format_local_time(moment: datetime) -> str:
    """Format a moment in the machine's time zone, day first as in France."""
    return moment.astimezone().strftime("%d/%m/%Y %H:%M:%S")


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters["local_time"] = format_local_time

MESSAGE_PATH = re.compile(r"^/messages/(?P<id>\d+)(?P<source>/source)?$")


class MailWebServer:
    """HTTP server on 127.0.0.1 serving a MailCatcher's mails from a daemon thread."""

    def __init__(self, catcher: "MailCatcher", *, port: int = 0) -> None:
        self.catcher = catcher
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def start(self) -> "MailWebServer":
        """Bind the port (a free one when 0) and serve in a background thread."""
        handler = type("_BoundHandler", (_MailPageHandler,), {"catcher": self.catcher})
        self._server = ThreadingHTTPServer((LOOPBACK, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll interval keeps stop() quick; the default waits up to 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="mail-web",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._server = None


class _MailPageHandler(BaseHTTPRequestHandler):
    catcher: "MailCatcher"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send_page(
                "mail_list.html", mails=self._newest_first(), **self._smtp()
            )
            return
        if path == "/api/messages":
            self._send_json([_summary(mail) for mail in self.catcher.messages()])
            return

        match = MESSAGE_PATH.match(path)
        mail = self.catcher.get(int(match["id"])) if match else None
        if mail is None:
            self._send_text(HTTPStatus.NOT_FOUND, "Courriel introuvable.")
        elif match["source"]:
            self._send_text(HTTPStatus.OK, mail.raw.decode("utf-8", errors="replace"))
        else:
            self._send_page(
                "mail_detail.html",
                mail=mail,
                text=mail.text_body(),
                html=mail.html_body(),
            )

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("mail_page_request line=%r", format % args)

    def _newest_first(self) -> list["ReceivedMail"]:
        return list(reversed(self.catcher.messages()))

    def _smtp(self) -> dict[str, str]:
        return {"smtp_address": f"{self.catcher.smtp_host}:{self.catcher.smtp_port}"}

    def _send_page(self, template: str, **context: object) -> None:
        body = TEMPLATES.get_template(template).render(**context)
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", body.encode())

    def _send_json(self, payload: object) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(HTTPStatus.OK, "application/json", body)

    def _send_text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode())

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _summary(mail: "ReceivedMail") -> dict[str, object]:
    return {
        "id": mail.id,
        "mail_from": mail.mail_from,
        "rcpt_tos": list(mail.rcpt_tos),
        "subject": mail.subject,
        "received_at": mail.received_at.isoformat(),
        "text": mail.text_body(),
        "html": mail.html_body(),
    }
