"""Households: where each person lives, and which households each incident touches.

Placement is what turns a linked record into a reached child: a child is flagged when an
incident touches the household the child lives in, so every rule here decides which
children an incident reaches. The functions are pure over polars frames and are called by
``pipeline.link.link_people``:

1. ``resolve_household_keys``  one household key per dwelling across all sources;
2. ``compared_at_incident``    where an address-less police child is compared (blocking);
3. ``person_household``        where each police nominal lives;
4. ``child_homes``             one home per linked child, from its member records;
5. ``incident_households``     the households each incident touches, and on what basis;
6. ``build_households``        one row per household key.
"""

from __future__ import annotations

import polars as pl

from pipeline import schemas
from pipeline.standardise import stable_id


def resolve_household_keys(frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """Give records without a UPRN the UPRN of a record at the same normalised address.

    So "Flat 2, 10 High St" without a UPRN and "2/10 High Street" with one are one household.
    An address that maps to two different UPRNs is left alone (ambiguous).
    """
    known = pl.concat([f.select("postcode", "address_key", "uprn") for f in frames]).drop_nulls()
    uprn_of = (
        known.unique().group_by("postcode", "address_key").agg(pl.col("uprn").first(), n=pl.len())
        .filter(pl.col("n") == 1).select("postcode", "address_key", _uprn=pl.col("uprn"))
    )
    out = []
    for f in frames:
        joined = f.join(uprn_of, on=["postcode", "address_key"], how="left", nulls_equal=False)
        out.append(joined.with_columns(
            household_key=pl.when(pl.col("household_key").is_not_null() & pl.col("uprn").is_null() & pl.col("_uprn").is_not_null())
            .then(pl.concat_str(pl.lit("uprn:"), pl.col("_uprn")))
            .otherwise(pl.col("household_key"))
        ).with_columns(household_id=stable_id("H", pl.col("household_key"))).drop("_uprn"))
    return out


def build_households(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per household key seen in any source."""
    rows = pl.concat([
        f.select("household_id", "household_key", address=pl.col("address_display"), postcode="postcode", uprn="uprn")
        for f in frames
    ]).filter(pl.col("household_key").is_not_null())
    return (
        rows.sort(["household_key", "uprn", "address"], nulls_last=True)
        .group_by("household_id", maintain_order=True)
        .agg(
            pl.col("household_key").first(),
            pl.col("address").drop_nulls().first(),
            pl.col("postcode").drop_nulls().first(),
            pl.col("household_key").first().str.strip_prefix("uprn:").alias("uprn_from_key"),
            pl.col("uprn").drop_nulls().first(),
        )
        .with_columns(
            uprn=pl.when(pl.col("household_key").str.starts_with("uprn:")).then(pl.col("uprn_from_key")).otherwise(pl.col("uprn"))
        )
        .sort("household_id")
        .select(schemas.HOUSEHOLDS.keys())
        .cast(schemas.HOUSEHOLDS)  # type: ignore[arg-type]
    )


LOCATION_COLUMNS = ("uprn", "postcode", "postcode_sector", "address_key", "house_number", "street", "flat")


def compared_at_incident(children: pl.DataFrame, persons: pl.DataFrame, incidents: pl.DataFrame) -> pl.DataFrame:
    """Police child nominals with no address of their own, compared (and blocked) where
    they most likely live: the home of the incident's victim, else the incident address.

    Officers often record a child at the scene with name only: no date of birth, no
    address. Compared on names alone such a child almost never reaches an automatic match
    (measured on the synthetic county: 29 % linked, against 97–99 % for every other child),
    although nearly all live with the victim, usually where the incident happened. Using the
    victim's home first finds the children of an incident that happened elsewhere (on the
    county, a third of the address-less children still missed). A child who lives
    elsewhere then disagrees on location, which lowers the weight: it never forces a match.
    A ZZ99 (no fixed abode) child keeps no address.
    """
    if children.height == 0:
        return children
    has_address = (
        pl.col("postcode").is_not_null() | pl.col("uprn").is_not_null() | pl.col("address_key").is_not_null()
    ) & ~pl.col("postcode_pseudo")
    no_address = ~has_address & ~pl.col("postcode_pseudo")
    home = (
        persons.filter((pl.col("role") == "victim") & has_address)
        .sort("incident_id", "person_ref")
        .unique("incident_id", keep="first")
        .select("incident_id", pl.lit(True).alias("_victim_home"), *[pl.col(c).alias(f"_home_{c}") for c in LOCATION_COLUMNS])
    )
    at = incidents.unique("incident_id", keep="first").select(
        "incident_id", *[pl.col(c).alias(f"_incident_{c}") for c in LOCATION_COLUMNS]
    )
    return (
        children.join(home, on="incident_id", how="left", maintain_order="left")
        .join(at, on="incident_id", how="left", maintain_order="left")
        .with_columns([
            pl.when(no_address & pl.col("_victim_home").fill_null(False)).then(pl.col(f"_home_{c}"))
            .when(no_address).then(pl.col(f"_incident_{c}"))
            .otherwise(pl.col(c)).alias(c)
            for c in LOCATION_COLUMNS
        ])
        .drop("_victim_home", *[f"_{kind}_{c}" for kind in ("home", "incident") for c in LOCATION_COLUMNS])
    )


def person_household(persons: pl.DataFrame, incidents: pl.DataFrame) -> pl.DataFrame:
    """Where each nominal lives: own recorded address; a victim or child with none lives at
    the incident address (domestic incidents are mostly at home)."""
    inc = incidents.select("incident_id", incident_household=pl.col("household_id"))
    return persons.join(inc, on="incident_id", how="left").with_columns(
        lives_at=pl.when(pl.col("household_key").is_not_null() | pl.col("postcode_pseudo")).then(pl.col("household_id"))
        .when(pl.col("role").is_in(["victim", "child"])).then(pl.col("incident_household"))
    )


def child_homes(full: pl.DataFrame) -> pl.DataFrame:
    """``(child_id, postcode, address, household_id)``: one home per child from its member
    records (``full``: members with their record's ``postcode``, ``address_display``,
    ``household_id``, ``uprn`` and ``_rank``, the source priority).

    The address comes from the best-ranked member that has a usable one, so household,
    postcode and address line agree with each other. A member whose address carries a UPRN
    comes first: when a child's records disagree on the address it is usually a typed
    postcode (NR1 5PE for NR1 1PE) on the record without one, and that would put the child
    in a household of one, away from its siblings.
    """
    return (
        full.with_columns(_has_home=pl.col("household_id").is_not_null(), _has_uprn=pl.col("uprn").is_not_null())
        .sort(["child_id", "_has_home", "_has_uprn", "_rank", "record_id"], descending=[False, True, True, False, False])
        .group_by("child_id", maintain_order=True)
        .agg(pl.col("postcode").first(), pl.col("address_display").first().alias("address"), pl.col("household_id").first())
    )


def incident_households(
    person_links: pl.DataFrame, persons: pl.DataFrame, incidents: pl.DataFrame, children: pl.DataFrame,
) -> pl.DataFrame:
    """Which households each incident touches: victims' and suspects' own homes, the incident
    address when no victim has a known home of their own, and the register homes of the
    children recorded at the scene (which finds a family whose register address is stale).

    A victim or suspect recorded here with no usable address (none given, or no fixed
    abode) still has a home if the same person (``person_id``) gave one on another incident:
    the most recently reported one is used (``known_home``), so the children living with
    him there are found too."""
    own = persons.filter(pl.col("household_id").is_not_null())
    victim = own.filter(pl.col("role") == "victim").select(
        "incident_id", "household_id", "role", "person_ref", basis=pl.lit("victim_home")
    )
    suspect = own.filter(pl.col("role") == "suspect").select(
        "incident_id", "household_id", "role", "person_ref", basis=pl.lit("suspect_home")
    )
    incident_address = incidents.filter(pl.col("household_id").is_not_null()).join(
        victim.select("incident_id").unique(), on="incident_id", how="anti"
    ).select("incident_id", "household_id", role=pl.lit("victim"), person_ref=pl.lit(None, pl.String), basis=pl.lit("incident_address"))
    linked = person_links.filter((pl.col("role") == "child") & pl.col("link_probability").is_not_null()).select(
        "incident_id", "person_ref", "child_id"
    ).join(children.select("child_id", home=pl.col("household_id")), on="child_id").filter(pl.col("home").is_not_null()).select(
        "incident_id", household_id=pl.col("home"), role=pl.lit("child"), person_ref=pl.col("person_ref"), basis=pl.lit("linked_child_home")
    )
    adults = person_links.filter(pl.col("role").is_in(["victim", "suspect"]) & pl.col("person_id").is_not_null())
    known = (
        adults.filter(pl.col("household_id").is_not_null())
        .join(incidents.select("incident_id", "reported_at"), on="incident_id")
        .sort(["reported_at", "incident_id"], descending=True)
        .group_by("person_id", maintain_order=True)
        .agg(known_home=pl.col("household_id").first())
    )
    known_home = adults.filter(pl.col("household_id").is_null()).join(known, on="person_id").select(
        "incident_id", household_id=pl.col("known_home"), role=pl.col("role"), person_ref=pl.col("person_ref"),
        basis=pl.lit("known_home"),
    )
    return (
        pl.concat([victim, suspect, incident_address, linked, known_home])
        .unique()
        .sort("incident_id", "basis", "household_id", "person_ref")
        .select(schemas.INCIDENT_HOUSEHOLDS.keys())
    )
