"""Households: where each person lives, and which households each incident touches.

Placement is what turns a linked record into a reached child: a child is flagged when an
incident touches the household the child lives in, so every rule here decides which
children an incident reaches. The functions are pure over polars frames and are called by
``pipeline.link.linkage.link_people``:

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
from pipeline.link.standardise import fold_name, name_parts, stable_id


def resolve_household_keys(frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """One household key per dwelling across every source.

    1. A record without a UPRN takes the UPRN of a record at the same normalised address,
       so "Flat 2, 10 High St" without a UPRN and "2/10 High Street" with one are one
       household. An address that maps to two different UPRNs is left alone (ambiguous).
    2. A typed postcode does not split a home: the same flat, house number and street in
       the same postcode sector, with postcodes one character apart, is one household
       (:func:`postcode_typo_keys`).
    """
    known = pl.concat([f.select("postcode", "address_key", "uprn") for f in frames]).drop_nulls()
    uprn_of = (
        known.unique().group_by("postcode", "address_key").agg(pl.col("uprn").first(), n=pl.len())
        .filter(pl.col("n") == 1).select("postcode", "address_key", _uprn=pl.col("uprn"))
    )
    resolved = []
    for f in frames:
        joined = f.join(uprn_of, on=["postcode", "address_key"], how="left", nulls_equal=False)
        resolved.append(joined.with_columns(
            household_key=pl.when(pl.col("household_key").is_not_null() & pl.col("uprn").is_null() & pl.col("_uprn").is_not_null())
            .then(pl.concat_str(pl.lit("uprn:"), pl.col("_uprn")))
            .otherwise(pl.col("household_key"))
        ).drop("_uprn"))
    typo = postcode_typo_keys(resolved)
    return [
        f.join(typo, on="household_key", how="left", maintain_order="left")
        .with_columns(household_key=pl.coalesce("_typo_of", "household_key"))
        .drop("_typo_of")
        .with_columns(household_id=stable_id("H", pl.col("household_key")))
        for f in resolved
    ]


def postcode_typo_keys(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """``(household_key, _typo_of)``: household keys that are another key's home with a
    postcode typo, and the key they belong to.

    ``11 Chapel Street NR24 1DW`` (register, UPRN) and ``11 Chapel St NR24 1DU`` (police, no
    UPRN) are one home: same address key (flat, house number, street), same postcode
    sector, postcodes differing in one character. Never across streets or numbers (the
    address key must agree), never between two different UPRNs, and never for an address
    without both a house number and a street (a named house or a bare street is too weak).
    Within such a group the key that wins is the one with a UPRN, then the one most records
    use, then the smallest; a key next to two different UPRNs is ambiguous and left alone.
    A chain (1DW ~ 1DU ~ 1DX) resolves to the group's winner because every member is
    mapped to the best key among itself and its neighbours, twice.
    """
    dwellings = (
        pl.concat([
            f.filter(pl.col("household_key").is_not_null() & pl.col("house_number").is_not_null() & pl.col("street").is_not_null())
            .select("household_key", "postcode", "postcode_sector", "address_key")
            for f in frames
        ])
        .drop_nulls()
        .group_by("household_key", "postcode", "postcode_sector", "address_key")
        .agg(n=pl.len())
    )
    pairs = (
        dwellings.join(dwellings, on=["postcode_sector", "address_key"], suffix="_o")
        .filter(
            (pl.col("postcode") != pl.col("postcode_o"))
            & (pl.col("household_key") != pl.col("household_key_o"))
            & (pl.col("postcode").str.len_chars() == pl.col("postcode_o").str.len_chars())
            # Same sector, same length: only the unit's two letters can differ; one may.
            & (
                (pl.col("postcode").str.slice(-2, 1) == pl.col("postcode_o").str.slice(-2, 1)).cast(pl.Int8)
                + (pl.col("postcode").str.slice(-1, 1) == pl.col("postcode_o").str.slice(-1, 1)).cast(pl.Int8)
                == 1
            )
            # Two different UPRNs are two dwellings, whatever their postcodes say.
            & ~(pl.col("household_key").str.starts_with("uprn:") & pl.col("household_key_o").str.starts_with("uprn:"))
        )
        .select("household_key", other="household_key_o")
        .unique()
    )
    if pairs.height == 0:
        return pl.DataFrame(schema={"household_key": pl.String, "_typo_of": pl.String})
    records = dwellings.group_by("household_key").agg(n=pl.col("n").sum())
    ranked = records.with_columns(has_uprn=pl.col("household_key").str.starts_with("uprn:"))
    neighbourhood = pl.concat([
        pairs,
        pairs.select("household_key").unique().with_columns(other=pl.col("household_key")),
    ]).join(ranked.rename({"household_key": "other"}), on="other")
    uprns_near = neighbourhood.filter(pl.col("has_uprn")).group_by("household_key").agg(n_uprn=pl.col("other").n_unique())
    best = (
        neighbourhood.sort(["household_key", "has_uprn", "n", "other"], descending=[False, True, True, False])
        .group_by("household_key", maintain_order=True)
        .agg(best=pl.col("other").first())
        .join(uprns_near, on="household_key", how="left")
        .filter(pl.col("n_uprn").fill_null(0) <= 1)
        .filter(pl.col("best") != pl.col("household_key"))
        .select("household_key", "best")
    )
    twice = best.join(best.rename({"household_key": "best", "best": "best2"}), on="best", how="left")
    return twice.select("household_key", _typo_of=pl.coalesce("best2", "best"))


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


LOCATION_COLUMNS = ("uprn", "postcode", "postcode_sector", "postcode_district", "address_key", "house_number", "street", "flat")


def sibling_homes(persons: pl.DataFrame, register: pl.DataFrame) -> pl.DataFrame:
    """``(incident_id, household_id, *LOCATION_COLUMNS)``: the register home of the children
    named on each incident, where they agree on one.

    A sibling counts when its forename (canonical), surname and date of birth match a
    register record exactly: the certain links, known before any pair is scored, so the
    home can be used to compare the children recorded with neither address nor date of
    birth. Of a sibling's matching records the one with a UPRN, then health before school,
    gives the home (as for a child's home). Siblings pointing at two different homes say
    nothing (a blended family, a child staying elsewhere): no row for that incident.
    """
    keys = ["forename_canon", "surname_std", "dob"]
    named = persons.filter((pl.col("role") == "child") & pl.col("dob").is_not_null()).select(
        "incident_id", "person_ref", *keys
    ).drop_nulls()
    homes = (
        register.select(
            *keys, "household_id", *LOCATION_COLUMNS,
            _has_uprn=pl.col("uprn").is_not_null(), _health=pl.col("source") == "health_register",
            _keyed=pl.col("household_key").is_not_null(),
        )
        .filter("_keyed")
        .drop("_keyed")
        .drop_nulls(keys)
    )
    matched = (
        named.join(homes, on=keys)
        .sort(["incident_id", "person_ref", "_has_uprn", "_health"], descending=[False, False, True, True])
        .unique(["incident_id", "person_ref"], keep="first", maintain_order=True)
    )
    agreed = matched.group_by("incident_id").agg(n=pl.col("household_id").n_unique()).filter(pl.col("n") == 1)
    return (
        matched.join(agreed, on="incident_id", how="semi")
        .unique("incident_id", keep="first", maintain_order=True)
        .select("incident_id", "household_id", *LOCATION_COLUMNS)
    )


def _no_address() -> pl.Expr:
    """A nominal with no address at all (a ZZ99 one has one: no fixed abode)."""
    has_address = pl.col("postcode").is_not_null() | pl.col("uprn").is_not_null() | pl.col("address_key").is_not_null()
    return ~has_address & ~pl.col("postcode_pseudo")


def compared_at_incident(
    children: pl.DataFrame, persons: pl.DataFrame, incidents: pl.DataFrame, siblings: pl.DataFrame,
) -> pl.DataFrame:
    """Police child nominals with no address of their own, compared (and blocked) where
    they most likely live: the register home of their siblings on the same incident
    (``siblings``, :func:`sibling_homes`), else the home of the incident's victim, else the
    incident address.

    Officers often record a child at the scene with name only: no date of birth, no
    address. Compared on names alone such a child almost never reaches an automatic match
    (measured on the synthetic county: 29 % linked, against 97–99 % for every other child),
    although nearly all live with the victim, usually where the incident happened. Using the
    victim's home first finds the children of an incident that happened elsewhere (on the
    county, a third of the address-less children still missed). The siblings' register
    home comes before the victim's: when the family moved and the register still has the
    old address, the victim's new home disagrees with the child's register record, while
    the siblings' register home is exactly where the child is registered. A child who lives
    elsewhere then disagrees on location, which lowers the weight: it never forces a match.
    A ZZ99 (no fixed abode) child keeps no address.
    """
    if children.height == 0:
        return children
    has_address = ~_no_address() & ~pl.col("postcode_pseudo")
    no_address = _no_address()
    home = (
        persons.filter((pl.col("role") == "victim") & has_address)
        .sort("incident_id", "person_ref")
        .unique("incident_id", keep="first")
        .select("incident_id", pl.lit(True).alias("_victim_home"), *[pl.col(c).alias(f"_home_{c}") for c in LOCATION_COLUMNS])
    )
    sibling = siblings.select(
        "incident_id", pl.lit(True).alias("_sibling_home"), *[pl.col(c).alias(f"_sibling_{c}") for c in LOCATION_COLUMNS]
    )
    at = incidents.unique("incident_id", keep="first").select(
        "incident_id", *[pl.col(c).alias(f"_incident_{c}") for c in LOCATION_COLUMNS]
    )
    kinds = ("sibling", "home", "incident")
    return (
        children.join(sibling, on="incident_id", how="left", maintain_order="left")
        .join(home, on="incident_id", how="left", maintain_order="left")
        .join(at, on="incident_id", how="left", maintain_order="left")
        .with_columns([
            pl.when(no_address & pl.col("_sibling_home").fill_null(False)).then(pl.col(f"_sibling_{c}"))
            .when(no_address & pl.col("_victim_home").fill_null(False)).then(pl.col(f"_home_{c}"))
            .when(no_address).then(pl.col(f"_incident_{c}"))
            .otherwise(pl.col(c)).alias(c)
            for c in LOCATION_COLUMNS
        ])
        .drop("_sibling_home", "_victim_home", *[f"_{kind}_{c}" for kind in kinds for c in LOCATION_COLUMNS])
    )


def person_household(persons: pl.DataFrame, incidents: pl.DataFrame, siblings: pl.DataFrame) -> pl.DataFrame:
    """Where each nominal lives: own recorded address; a child with none lives at its
    siblings' register home (:func:`sibling_homes`), else, like a victim with none, at the
    incident address (domestic incidents are mostly at home)."""
    inc = incidents.select("incident_id", incident_household=pl.col("household_id"))
    sib = siblings.select("incident_id", sibling_household=pl.col("household_id"))
    return (
        persons.join(inc, on="incident_id", how="left")
        .join(sib, on="incident_id", how="left")
        .with_columns(
            lives_at=pl.when(pl.col("household_key").is_not_null() | pl.col("postcode_pseudo")).then(pl.col("household_id"))
            .when((pl.col("role") == "child") & _no_address()).then(pl.coalesce("sibling_household", "incident_household"))
            .when(pl.col("role").is_in(["victim", "child"])).then(pl.col("incident_household"))
        )
        .drop("sibling_household")
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
    him there are found too.

    An incident address that is a dwelling is weighed against the homes police keyed
    elsewhere (:func:`incident_dwellings`): when it is nobody's home it may be reached
    (``incident_dwelling``, ``address_conflict``), and a keyed home the evidence clearly
    contradicts is not reached."""
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
    homes = pl.concat([victim, suspect, known_home, incident_address])
    at_dwelling, contradicted = incident_dwellings(person_links, persons, incidents, children, homes=homes)
    return (
        pl.concat([victim, suspect, incident_address, linked, known_home])
        .join(contradicted, on=["incident_id", "household_id", "person_ref", "basis"], how="anti")
        .vstack(at_dwelling)
        .unique()
        .sort("incident_id", "basis", "household_id", "person_ref")
        .select(schemas.INCIDENT_HOUSEHOLDS.keys())
    )


REGISTER_SOURCES = schemas.REGISTER_SOURCES


def incident_dwellings(
    person_links: pl.DataFrame, persons: pl.DataFrame, incidents: pl.DataFrame, children: pl.DataFrame,
    *, homes: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(reached, contradicted)``: incident addresses reached because they are a dwelling,
    and the keyed homes (``homes`` rows) the evidence says are not home.

    Police often key a victim's or suspect's home wrongly (another real address) while the
    incident happened at home. An incident address is a *dwelling* when it is a register
    household or carries a UPRN. Each victim and suspect whose keyed home ``K`` is not the
    incident dwelling ``D`` is weighed; for each address the evidence is

    - +1 when children registered there share a surname (any part) with a victim, suspect or
      child named on the incident;
    - -1 when children are registered there and none shares one (somebody else's family);
    - +1 when the same person (``person_id``) was keyed there, or an incident of theirs
      happened there, on another incident.

    When ``D`` is nobody's home on the incident (no ``homes`` row there): ``D`` scoring
    higher is reached (``incident_dwelling``); ``K`` scoring higher leaves ``D`` unreached
    unless children of the family live there (a shared surname): missing a child costs more
    than discussing one too many. A tie reaches ``D`` as well; when children are registered
    at both, and ``D`` is not shown to be another party's home, the tie is an
    ``address_conflict`` for the person, which the MASH list carries as a follow-up:
    flagging both is better than flagging neither.

    ``K`` is *contradicted* (not reached) only when the evidence is clear: ``D`` is home
    (it scored higher, or it is another party's home on the incident) with the family's
    children, ``K`` holds children of another family, nothing else places the person at
    ``K``, and the person is not an ex-partner suspect (expected to live elsewhere, often
    with a new family whose children need share no name on the incident).
    """
    key_schema: schemas.Schema = {"incident_id": pl.String, "household_id": pl.String, "role": pl.String, "person_ref": pl.String, "basis": pl.String}
    registered = children.filter(
        pl.col("household_id").is_not_null()
        & pl.col("sources").list.eval(pl.element().is_in(list(REGISTER_SOURCES))).list.any()
    )
    register_homes = registered.select("household_id").unique()
    candidates = (
        incidents.filter(pl.col("household_id").is_not_null())
        .select("incident_id", "household_key", d=pl.col("household_id"))
        .filter(
            pl.col("household_key").str.starts_with("uprn:")
            | pl.col("d").is_in(register_homes["household_id"].implode())
        )
        .join(homes.select("incident_id", d=pl.col("household_id"), explained=pl.lit(True)), on=["incident_id", "d"], how="left")
        .with_columns(pl.col("explained").fill_null(False))
        .select("incident_id", "d", "explained")
        .unique()
    )
    parties = (
        homes.filter(pl.col("basis").is_in(["victim_home", "suspect_home"]))
        .join(candidates, on="incident_id")
        .filter(pl.col("household_id") != pl.col("d"))
        .join(person_links.select("incident_id", "person_ref", "person_id"), on=["incident_id", "person_ref"], how="left")
        .join(
            persons.select("incident_id", "person_ref", "relationship_to_victim"), on=["incident_id", "person_ref"], how="left"
        )
    )
    if parties.height == 0:
        return schemas.empty(key_schema), schemas.empty(key_schema)
    parts = name_parts(fold_name(pl.col("surname")))
    child_names = registered.select("household_id", part=parts).explode("part").drop_nulls().unique()
    incident_names = (
        persons.filter(pl.col("role").is_in(["victim", "suspect", "child"]))
        .join(parties.select("incident_id").unique(), on="incident_id", how="semi")
        .select("incident_id", part=parts).explode("part").drop_nulls().unique()
    )
    has_children = register_homes.with_columns(kids=pl.lit(1))
    incident_home = incidents.filter(pl.col("household_id").is_not_null()).select("incident_id", "household_id")
    elsewhere = pl.concat([
        person_links.filter(pl.col("household_id").is_not_null() & pl.col("person_id").is_not_null())
        .select("person_id", "incident_id", "household_id"),
        person_links.filter(pl.col("person_id").is_not_null()).select("person_id", "incident_id")
        .join(incident_home, on="incident_id"),
    ]).unique()
    sides = pl.concat([
        parties.select("incident_id", "person_ref", "person_id", side=pl.lit("k"), household_id=pl.col("household_id")),
        parties.select("incident_id", "person_ref", "person_id", side=pl.lit("d"), household_id=pl.col("d")),
    ])
    # Which of the weighed addresses hold a registered child sharing a surname part with the
    # incident's people: joined address by address, never surname by surname (a common
    # surname across a county would multiply every child by every incident bearing it).
    shares = (
        sides.select("incident_id", "household_id").unique()
        .join(child_names, on="household_id")
        .join(incident_names, on=["incident_id", "part"], how="semi")
        .select("incident_id", "household_id", share=pl.lit(1))
        .unique()
    )
    seen = (
        sides.join(elsewhere.rename({"incident_id": "other_incident"}), on=["person_id", "household_id"])
        .filter(pl.col("other_incident") != pl.col("incident_id"))
        .select("incident_id", "person_ref", "side", seen=pl.lit(1)).unique()
    )
    scored = (
        sides.join(shares, on=["incident_id", "household_id"], how="left")
        .join(has_children, on="household_id", how="left")
        .join(seen, on=["incident_id", "person_ref", "side"], how="left")
        .with_columns(pl.col("share", "kids", "seen").fill_null(0))
        .with_columns(
            against=((pl.col("kids") == 1) & (pl.col("share") == 0)).cast(pl.Int32),
        )
        .with_columns(net=pl.col("share") + pl.col("seen") - pl.col("against"))
        .pivot("side", index=["incident_id", "person_ref"], values=["net", "kids", "against", "share", "seen"])
    )
    weighed = parties.join(scored, on=["incident_id", "person_ref"]).with_columns(
        d_wins=pl.col("net_d") > pl.col("net_k"),
        tie=pl.col("net_d") == pl.col("net_k"),
    ).with_columns(
        # D shown to be one party's home explains the incident address for the others.
        d_home=pl.col("d_wins").any().over("incident_id") | pl.col("explained"),
    )
    reached = weighed.filter(
        ~pl.col("explained") & (pl.col("d_wins") | pl.col("tie") | (pl.col("share_d") == 1))
    ).select(
        "incident_id", household_id=pl.col("d"), role=pl.col("role"), person_ref=pl.col("person_ref"),
        basis=pl.when(pl.col("tie") & (pl.col("kids_k") == 1) & (pl.col("kids_d") == 1) & ~pl.col("d_home"))
        .then(pl.lit("address_conflict")).otherwise(pl.lit("incident_dwelling")),
    )
    # An ex-partner is expected to live elsewhere: his keyed home is never contradicted.
    contradicted = weighed.filter(
        (pl.col("d_wins") | pl.col("explained"))
        & (pl.col("net_d") >= 1)
        & (pl.col("against_k") == 1)
        & (pl.col("seen_k") == 0)
        & ~((pl.col("role") == "suspect") & (pl.col("relationship_to_victim") == "ex_partner")).fill_null(False)
    ).select(
        "incident_id", "household_id", "role", "person_ref", "basis",
    )
    return reached.cast(key_schema), contradicted.cast(key_schema)  # type: ignore[arg-type]
