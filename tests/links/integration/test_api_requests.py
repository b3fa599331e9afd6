"""Requests the links internal API must reject cleanly, against the running
service: never a 500, never a client-chosen correlation id stored as is."""

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def links_api(sample_system):
    token = sample_system.stack.secrets.internal_token
    with httpx.Client(
        base_url=sample_system.links_url,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def test_non_ascii_token_is_unauthorised(sample_system):
    answer = httpx.get(
        f"{sample_system.links_url}/internal/responsables/siecle:7100001/links",
        headers={"Authorization": "Bearer é".encode("latin-1")},
    )

    assert answer.status_code == 401


@pytest.mark.parametrize(
    "responsable_id", ["a%00b", "siecle:7100001%27--", "x" * 150, "SIECLE:1"]
)
def test_malformed_responsable_id_is_rejected(links_api, responsable_id):
    answer = links_api.get(f"/internal/responsables/{responsable_id}/links")

    assert answer.status_code == 422


def test_unsafe_correlation_id_is_replaced(links_api):
    answer = links_api.get(
        "/internal/responsables/siecle:7100016/links",
        headers={"X-Correlation-ID": "x" * 60_000},
    )

    assert answer.status_code == 200
    assert len(answer.headers["X-Correlation-ID"]) <= 64


def test_safe_correlation_id_is_kept(links_api):
    answer = links_api.get(
        "/internal/responsables/siecle:7100016/links",
        headers={"X-Correlation-ID": "portail-42"},
    )

    assert answer.headers["X-Correlation-ID"] == "portail-42"
