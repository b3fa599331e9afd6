"""Client of the links service's internal API."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

import httpx

from services.identity.errors import LinkNotOwned, LinksUnavailable
from shared.logging import correlation_id_var, get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class Link:
    """One of a responsable's links, as the screens show it."""

    link_id: uuid.UUID
    state: Literal["proposed", "confirmed", "refused"]
    source: Literal["onde", "siecle"]
    eleve_id: str
    nom: str
    prenom: str
    uai: str
    classe: str


@dataclass(frozen=True)
class Choice:
    """A responsable's decision on one link."""

    link_id: uuid.UUID
    decision: Literal["confirm", "refuse"]
    date_naissance: date | None = None


class LinksClient:
    """Reads and decides a responsable's links through the links service."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    async def close(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    async def links(self, responsable_id: str) -> list[Link]:
        """Return the responsable's links, whatever their state."""
        response = await self._request(
            "GET", f"/internal/responsables/{responsable_id}/links"
        )
        return [
            Link(
                link_id=uuid.UUID(item["link_id"]),
                state=item["state"],
                source=item["source"],
                eleve_id=item["eleve"]["eleve_id"],
                nom=item["eleve"]["nom_usage"] or item["eleve"]["nom"],
                prenom=item["eleve"]["prenom"],
                uai=item["eleve"]["uai"],
                classe=item["eleve"]["classe"],
            )
            for item in response.json()
        ]

    async def decide(
        self,
        responsable_id: str,
        choices: list[Choice],
        *,
        screen: str,
        dry_run: bool,
    ) -> dict[uuid.UUID, str]:
        """Check, and unless ``dry_run`` apply, the choices all or none.
        Returns the error code of each rejected link; empty when accepted."""
        body = {
            "screen": screen,
            "dry_run": dry_run,
            "decisions": [
                {
                    "link_id": str(choice.link_id),
                    "decision": choice.decision,
                    "date_naissance": choice.date_naissance.isoformat()
                    if choice.date_naissance
                    else None,
                }
                for choice in choices
            ],
        }
        response = await self._request(
            "POST", f"/internal/responsables/{responsable_id}/decisions", json=body
        )
        return {
            uuid.UUID(error["link_id"]): error["code"]
            for error in response.json()["errors"]
        }

    async def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {}
        if correlation_id := correlation_id_var.get():
            headers["X-Correlation-ID"] = correlation_id
        try:
            response = await self._client.request(
                method, path, headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            logger.error("links_request_failed", method=method, error=repr(exc))
            raise LinksUnavailable(
                f"links service request {method} failed: {exc!r}"
            ) from exc
        if response.status_code == 404:
            raise LinkNotOwned("the links service does not know this link")
        if response.status_code != 200:
            logger.error(
                "links_request_failed", method=method, status=response.status_code
            )
            raise LinksUnavailable(
                f"links service returned {response.status_code} to {method}"
            )
        return response
