"""A LocalStack whose services are stand-in programs, for testing the stack itself."""

import dataclasses
from collections.abc import Iterator

import pytest

from shared.devstack.stack import SERVICES, LocalStack

# Serves GET /healthz and GET /env (its own <PREFIX>_* variables as JSON) on the
# host and port the stack assigns; argv[1] is the prefix.
STAND_IN_DAEMON = r"""
import http.server, json, os, sys

prefix = sys.argv[1]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = b"ok"
        elif self.path == "/env":
            variables = {
                k: v for k, v in os.environ.items() if k.startswith(prefix + "_")
            }
            body = json.dumps(variables).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

address = (os.environ[prefix + "_HTTP_HOST"], int(os.environ[prefix + "_HTTP_PORT"]))
http.server.HTTPServer(address, Handler).serve_forever()
"""

# Prints its arguments and its own <PREFIX>_* variables as JSON, then exits.
STAND_IN_COMMAND = r"""
import json, os, sys

prefix = sys.argv[1]
variables = {k: v for k, v in os.environ.items() if k.startswith(prefix + "_")}
print(json.dumps({"args": sys.argv[2:], "env": variables}))
"""


def stand_in_services() -> dict:
    """The real SERVICES table, with each program replaced by a stand-in."""
    return {
        name: dataclasses.replace(
            spec,
            argv=(
                "-c",
                STAND_IN_DAEMON if spec.http else STAND_IN_COMMAND,
                spec.env_prefix,
            ),
        )
        for name, spec in SERVICES.items()
    }


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A started LocalStack running stand-in services, shared by tests/devstack."""
    stack = LocalStack(
        tmp_path_factory.mktemp("devstack"),
        environment="test",
        mail_http=True,
        services=stand_in_services(),
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
