"""Promises of linkage that no single pair shows: a child keeps its id when record groups
merge or split, and two nominals of one incident are never one person."""

from __future__ import annotations

import polars as pl
import pytest
from link_frames import SETTINGS, inputs

from pipeline.link.linkage import assign_child_ids, link_people
from pipeline.link.standardise import stable_id


def _minted(record_id: str) -> str:
    return pl.select(stable_id("C", pl.lit(record_id))).item()


def _ids(members: dict[str, int], previous: dict[str, str]) -> dict[int, str]:
    frame = pl.DataFrame({"record_id": list(members), "component": list(members.values())},
                         schema={"record_id": pl.String, "component": pl.Int64})
    before = pl.DataFrame({"record_id": list(previous), "child_id": list(previous.values())},
                          schema={"record_id": pl.String, "child_id": pl.String})
    out = assign_child_ids(frame, before)
    assert out["component"].n_unique() == out.height == frame["component"].n_unique()
    assert out["child_id"].n_unique() == out.height, "no id is given to two children"
    return dict(out.iter_rows())


@pytest.mark.parametrize(
    ("members", "previous", "expected"),
    [
        # Nothing changed: the id stays.
        ({"h:1": 0, "s:1": 0}, {"h:1": "C-A", "s:1": "C-A"}, {0: "C-A"}),
        # A new record joins the child: the id stays.
        ({"h:1": 0, "s:1": 0, "p:1": 0}, {"h:1": "C-A", "s:1": "C-A"}, {0: "C-A"}),
        # Two children merge: the id with more member records survives.
        ({"h:1": 0, "s:1": 0, "h:2": 0}, {"h:1": "C-A", "s:1": "C-B", "h:2": "C-B"}, {0: "C-B"}),
        # A merge of equals keeps the smaller id, the same on every rerun.
        ({"h:1": 0, "s:1": 0}, {"h:1": "C-B", "s:1": "C-A"}, {0: "C-A"}),
        # A child splits: the larger part keeps the id, the other part gets a new one.
        ({"h:1": 0, "s:1": 1, "p:1": 1}, {"h:1": "C-A", "s:1": "C-A", "p:1": "C-A"}, {0: _minted("h:1"), 1: "C-A"}),
        # A split into equal parts: the part holding the smallest record id keeps it.
        ({"h:1": 0, "s:1": 1}, {"h:1": "C-A", "s:1": "C-A"}, {0: "C-A", 1: _minted("s:1")}),
        # A child never seen: minted from its smallest record id.
        ({"s:9": 0, "h:9": 0}, {}, {0: _minted("h:9")}),
    ],
    ids=["unchanged", "grows", "merge", "merge-of-equals", "split", "split-in-halves", "new"],
)
def test_child_ids_when_groups_merge_or_split(members: dict, previous: dict, expected: dict) -> None:
    assert _ids(members, previous) == expected


CARL = {"forename": "Carl", "surname": "Stone", "dob": "1988-01-01", "gender": "m",
        "address_line1": "9 Quarry Road", "postcode": "NR4 7TT", "uprn": "100090090901"}


def _person_ids(reviews: list[dict] | None = None) -> dict[tuple[str, str], str]:
    persons = [
        # One incident recording the same-looking man twice (a data-entry slip, or two men of
        # one name at one address): two nominals of one incident are two people.
        {"incident_id": "INC-1", "person_ref": "P1", "role": "suspect", **CARL},
        {"incident_id": "INC-1", "person_ref": "P2", "role": "victim", **CARL},
        {"incident_id": "INC-2", "person_ref": "P7", "role": "suspect", **CARL},
    ]
    result = link_people(inputs(persons=persons, reviews=reviews), SETTINGS)
    links = result.person_links.select("incident_id", "person_ref", "person_id")
    return {(i, r): p for i, r, p in links.iter_rows()}


def test_two_nominals_of_one_incident_are_never_one_person() -> None:
    people = _person_ids()
    assert people[("INC-1", "P1")] != people[("INC-1", "P2")]
    # The man of the other incident is still linked, to one of them.
    assert people[("INC-2", "P7")] in {people[("INC-1", "P1")], people[("INC-1", "P2")]}


def test_not_even_a_reviewer_can_make_two_nominals_of_one_incident_one_person() -> None:
    review = {"left_id": "police_persons:INC-1:P1", "right_id": "police_persons:INC-1:P2", "decision": "match",
              "decided_by": "rev"}
    people = _person_ids([review])
    assert people[("INC-1", "P1")] != people[("INC-1", "P2")]
