"""Property tests over random sequences of imports and decisions, against a
real PostgreSQL. After every step, the links and the events written to the
outbox are those that a small reference model of the life cycle predicts. A
redelivered import changes nothing, and replaying a whole sequence gives the
same state."""

from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.links import handlers
from services.links.domain import BirthDateThrottle, Decision, link_id_for
from services.links.errors import LinkNotFound
from shared.contracts.events import EleveRemoved

from ..factories import BIRTH_DATE, WRONG_DATE, eleve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ELEVES = ("9900000001W", "9900000002E")
UAI = {"siecle": "0999101E", "onde": "0999202P"}
# "x:3" is in both sources' exports, so one pair can come from either.
RESPONSABLES = {
    "siecle": ("siecle:1", "siecle:2", "x:3"),
    "onde": ("onde:a", "onde:b", "x:3"),
}
ALL_RESPONSABLES = ("siecle:1", "siecle:2", "onde:a", "onde:b", "x:3")
# Wide enough that the throttle never interferes with the rules checked here.
NO_THROTTLE = BirthDateThrottle(
    per_responsable=10_000,
    responsable_window=timedelta(hours=1),
    per_eleve=10_000,
    eleve_window=timedelta(days=1),
)


@dataclass(frozen=True)
class Import:
    eleve_id: str
    source: str
    responsable_ids: tuple[str, ...]


@dataclass(frozen=True)
class Removal:
    eleve_id: str
    source: str


@dataclass(frozen=True)
class Decide:
    eleve_id: str
    responsable_id: str
    choice: str
    right_date: bool
    screen: str
    # When set, the decision is on the existing link of that rank instead, so
    # that most decisions find a link.
    pick: int | None = None

    def resolved(self, model: "Model") -> "Decide":
        if self.pick is None or not model.links:
            return self
        eleve_id, responsable_id = sorted(model.links)[self.pick % len(model.links)]
        return replace(self, eleve_id=eleve_id, responsable_id=responsable_id)


def imports() -> st.SearchStrategy[Import]:
    return st.sampled_from(("siecle", "onde")).flatmap(
        lambda source: st.builds(
            Import,
            eleve_id=st.sampled_from(ELEVES),
            source=st.just(source),
            # Repeated ids stand for a pair carried by several rows.
            responsable_ids=st.lists(
                st.sampled_from(RESPONSABLES[source]), max_size=4
            ).map(tuple),
        )
    )


decisions = st.builds(
    Decide,
    eleve_id=st.sampled_from(ELEVES),
    responsable_id=st.sampled_from(ALL_RESPONSABLES),
    choice=st.sampled_from(("confirm", "refuse")),
    # Mostly right dates, so that confirmations happen often.
    right_date=st.sampled_from((True, True, True, False)),
    screen=st.sampled_from(
        ("activation", "page_intermediaire", "mon_compte", "mon_compte")
    ),
    pick=st.one_of(st.integers(0, 9), st.none()),
)


def on_same_link(first: Decide, second: Decide) -> list[Decide]:
    """Return two decisions on one link, such as a responsable changing their
    mind on another screen."""
    return [
        first,
        replace(
            second,
            eleve_id=first.eleve_id,
            responsable_id=first.responsable_id,
            pick=first.pick,
        ),
    ]


steps = st.one_of(
    imports().map(lambda op: [op]),
    st.builds(
        Removal,
        eleve_id=st.sampled_from(ELEVES),
        source=st.sampled_from(("siecle", "onde")),
    ).map(lambda op: [op]),
    decisions.map(lambda op: [op]),
    st.builds(on_same_link, decisions, decisions),
)

# Two imports first, so that most sequences have links to decide on.
operations = st.tuples(
    imports(), imports(), st.lists(steps, min_size=3, max_size=12)
).map(lambda parts: [parts[0], parts[1], *(op for ops in parts[2] for op in ops)])


@dataclass
class Model:
    """The life cycle written as plainly as possible: what each step should do."""

    links: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    eleves: dict[str, list] = field(default_factory=dict)

    def apply_import(self, op: Import) -> list[tuple[str, str]]:
        events = []
        named = list(dict.fromkeys(op.responsable_ids))
        for rid in named:
            link = self.links.get((op.eleve_id, rid))
            if link is None:
                self.links[(op.eleve_id, rid)] = ["proposed", op.source]
                events.append(("link.proposed", rid))
            else:
                link[1] = op.source
        for (eleve_id, rid), (_state, source) in list(self.links.items()):
            if eleve_id == op.eleve_id and source == op.source and rid not in named:
                del self.links[(eleve_id, rid)]
                events.append(("link.removed", rid))
        self.eleves[op.eleve_id] = [op.source, True]
        return events

    def apply_removal(self, op: Removal) -> list[tuple[str, str]]:
        if op.eleve_id not in self.eleves:
            return []
        events = []
        for (eleve_id, rid), (_, source) in list(self.links.items()):
            if eleve_id == op.eleve_id and source == op.source:
                del self.links[(eleve_id, rid)]
                events.append(("link.removed", rid))
        if self.eleves[op.eleve_id][0] == op.source:
            self.eleves[op.eleve_id][1] = False
        return events

    def apply_decision(self, op: Decide) -> tuple[str | None, list[tuple[str, str]]]:
        """Return the error code or "not_found", and the events."""
        link = self.links.get((op.eleve_id, op.responsable_id))
        if link is None or not self.eleves[op.eleve_id][1]:
            return "not_found", []
        if op.choice == "confirm" and not op.right_date:
            return "birth_date_mismatch", []
        state = link[0]
        if op.screen == "mon_compte" and op.choice == "refuse" and state == "confirmed":
            others = [
                key
                for key, (other_state, _) in self.links.items()
                if key[1] == op.responsable_id
                and other_state == "confirmed"
                and self.eleves[key[0]][1]
            ]
            if len(others) == 1:
                return "last_confirmed_link", []
        new = "confirmed" if op.choice == "confirm" else "refused"
        if new == state:
            return None, []
        link[0] = new
        if new == "refused":
            return None, [("link.refused", op.responsable_id)]
        if state == "refused":
            return None, [("link.refusal_withdrawn", op.responsable_id)]
        return None, [("link.confirmed", op.responsable_id)]


async def reset(pool) -> None:
    await pool.execute(
        "TRUNCATE links, eleves, responsables, decision_audit, removed_links, outbox"
    )


async def new_events(pool, after: int) -> tuple[int, list[tuple[str, str]]]:
    rows = await pool.fetch(
        "SELECT id, type, payload->>'responsable_id' AS rid FROM outbox_events"
        " WHERE id > $1 ORDER BY id, position",
        after,
    )
    last = rows[-1]["id"] if rows else after
    return last, [(row["type"], row["rid"]) for row in rows]


async def snapshot(pool) -> tuple:
    links = await pool.fetch(
        "SELECT eleve_id, responsable_id, state::text, source FROM links"
        " ORDER BY eleve_id, responsable_id"
    )
    eleves = await pool.fetch(
        "SELECT eleve_id, source, enrolled FROM eleves ORDER BY eleve_id"
    )
    events = await pool.fetch(
        "SELECT type, payload->>'eleve_id', payload->>'responsable_id'"
        " FROM outbox_events ORDER BY id, position"
    )
    return (
        [tuple(row) for row in links],
        [tuple(row) for row in eleves],
        [tuple(row) for row in events],
    )


async def in_transaction(pool, use_case, *args, **kwargs):
    async with pool.acquire() as connection, connection.transaction():
        return await use_case(connection, *args, **kwargs)


async def run(pool, steps) -> None:
    """Apply ``steps`` to the database and to the model, checking each step."""
    model = Model()
    last_event = 0
    for op in steps:
        if isinstance(op, Import):
            expected = model.apply_import(op)
            event = eleve(
                *op.responsable_ids,
                source=op.source,
                uai=UAI[op.source],
                eleve_id=op.eleve_id,
            )
            await in_transaction(pool, handlers.apply_eleve_imported, event)
            last_event, events = await new_events(pool, last_event)
            assert sorted(events) == sorted(expected), op

            # A redelivered import is applied again without effect.
            await in_transaction(pool, handlers.apply_eleve_imported, event)
            last_event, events = await new_events(pool, last_event)
            assert events == [], op
        elif isinstance(op, Removal):
            expected = model.apply_removal(op)
            event = EleveRemoved(
                academie="versailles",
                eleve_id=op.eleve_id,
                source=op.source,
                uai=UAI[op.source],
            )
            await in_transaction(pool, handlers.apply_eleve_removed, event)
            last_event, events = await new_events(pool, last_event)
            assert sorted(events) == sorted(expected), op
        else:
            op = op.resolved(model)
            expected_error, expected = model.apply_decision(op)
            decision = Decision(
                link_id_for(op.eleve_id, op.responsable_id),
                op.choice,
                BIRTH_DATE if op.right_date else WRONG_DATE,
            )
            try:
                outcome = await in_transaction(
                    pool,
                    handlers.decide,
                    responsable_id=op.responsable_id,
                    decisions=[decision],
                    screen=op.screen,
                    throttle=NO_THROTTLE,
                )
                error = outcome.errors[0].code if outcome.errors else None
            except LinkNotFound:
                error = "not_found"
            assert error == expected_error, op
            last_event, events = await new_events(pool, last_event)
            assert events == expected, op

        links = await pool.fetch(
            "SELECT eleve_id, responsable_id, state::text, source FROM links"
        )
        assert {
            (row["eleve_id"], row["responsable_id"]): [row["state"], row["source"]]
            for row in links
        } == model.links, op


@settings(
    max_examples=40,
    # No example database in the repository; failures print their example.
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=operations)
async def test_life_cycle_follows_model(pool, steps):
    await reset(pool)
    await run(pool, steps)
    first = await snapshot(pool)

    await reset(pool)
    await run(pool, steps)

    assert await snapshot(pool) == first
