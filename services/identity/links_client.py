"""Client of the links service's internal API."""

import asyncio
import uuid
from collections.abc import Sequence
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
    responsable_id: str = ""


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

    async def links(self, responsable_ids: Sequence[str]) -> list[Link]:
        """Return the links of every one of the responsable records, whatever
        their state, record by record in the order given."""
        per_record = await asyncio.gather(
            *(self._record_links(responsable_id) for responsable_id in responsable_ids)
        )
        return [link for record_links in per_record for link in record_links]

    async def _record_links(self, responsable_id: str) -> list[Link]:
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
                responsable_id=responsable_id,
            )
            for item in response.json()
        ]

    async def decide_all(
        self,
        every_link: Sequence[Link],
        choices: list[Choice],
        *,
        screen: str,
        dry_run: bool,
    ) -> dict[uuid.UUID, str]:
        """Check, and unless ``dry_run`` apply, choices on links that may
        belong to several responsable records of one account. Each record's
        choices go to its own record; all are checked before any is applied.
        A choice on a link missing from ``every_link`` raises LinkNotOwned."""
        record_of = {link.link_id: link.responsable_id for link in every_link}
        per_record: dict[str, list[Choice]] = {}
        for choice in choices:
            if choice.link_id not in record_of:
                raise LinkNotOwned(f"link {choice.link_id} is not the account's")
            per_record.setdefault(record_of[choice.link_id], []).append(choice)

        refusing = {c.link_id for c in choices if c.decision == "refuse"}

        async def decide_each(dry: bool) -> dict[uuid.UUID, str]:
            rejected: dict[uuid.UUID, str] = {}
            for responsable_id, record_choices in per_record.items():
                rejected |= await self.decide(
                    responsable_id,
                    record_choices,
                    screen=screen,
                    dry_run=dry,
                    confirmed_elsewhere=sum(
                        link.state == "confirmed"
                        and link.responsable_id != responsable_id
                        and link.link_id not in refusing
                        for link in every_link
                    ),
                )
            return rejected

        if dry_run or len(per_record) <= 1:
            return await decide_each(dry_run)
        # NOTE: another request may change a link between the check and the
        # last record's decisions. The links service has no transaction over
        # several records, so such a failure can leave the first ones decided.
        return await decide_each(True) or await decide_each(False)

    async def decide(
        self,
        responsable_id: str,
        choices: list[Choice],
        *,
        screen: str,
        dry_run: bool,
        confirmed_elsewhere: int = 0,
    ) -> dict[uuid.UUID, str]:
        """Check, and unless ``dry_run`` apply, the choices all or none.
        ``confirmed_elsewhere`` counts the account's confirmed links on its
        other records. Returns the error code of each rejected link; empty
        when accepted."""
        body = {
            "screen": screen,
            "dry_run": dry_run,
            "account_confirmed_elsewhere": confirmed_elsewhere,
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

    async def school(self, uai: str, classe: str | None = None) -> dict:
        """Return a school's pupils with their links, all classes or one, as
        the links service's ``/internal/schools/{uai}`` gives them."""
        params = {"classe": classe} if classe is not None else None
        response = await self._request("GET", f"/internal/schools/{uai}", params=params)
        return response.json()

    async def school_statistics(
        self, uais: Sequence[str], overdue_after_days: int
    ) -> list[dict]:
        """Return the link counts of each school, refusals older than
        ``overdue_after_days`` counted as overdue corrections."""
        response = await self._request(
            "GET",
            "/internal/school-statistics",
            params=[("uai", uai) for uai in uais]
            + [("overdue_after_days", str(overdue_after_days))],
        )
        return response.json()

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
