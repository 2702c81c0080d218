"""Contacts: what the MASH's own log says about children (landing contract v2).

A consultation is often anonymous: the caller names no family, only their own setting and
usually the child's age, sometimes a first name. That is still evidence. Each contact is
resolved to a *candidate set*, the children it may be about, and is never merged into a
child: a candidate stays "may be this child", with how well it fits. Called by the flag
stage (``pipeline.flag.flags.build_flags``); pure functions over polars frames.

1. ``contacts_in_window``   contacts received within the window before the list date
2. ``contact_candidates``   each contact's candidate children, through the caller's setting
                            (the early-years return, the school roll, the GP list) or the
                            names it gives, filtered by age, first name and gender
3. ``child_contact_facts``  per child: the contacts about it, which are new, and whether
                            two callers raised it within the repeat window
4. ``consultations_to_revisit``  tonight's contacts whose level of concern was not clear on
                            both sides: stated above recorded, or domestic abuse closed with advice
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipeline import schemas
from pipeline.flag.calendar import TIMEZONE
from pipeline.link.standardise import canonical_forename, fold_name

# Where a caller's organisation code is found on a child: the setting's Ofsted URN on the
# early-years return, the school's URN on the roll, the practice's ODS code on the health
# register. The tag is the agency tag of the MASH list.
SETTING_COLUMNS = (("early_years", "provider_urn"), ("school", "school_urn"), ("gp", "gp_practice_code"))

CALLER_WORDS = {
    "childminder": "childminder", "nursery": "nursery", "school": "school", "health_visitor": "health visitor",
    "gp": "GP", "midwife": "midwife", "police": "police", "housing": "housing", "family": "family member",
    "public": "member of the public", "other": "other caller",
}
CONCERN_WORDS = {
    "domestic_abuse": "domestic abuse", "physical_injury": "physical injury", "neglect": "neglect",
    "emotional": "emotional harm", "sexual": "sexual harm", "behaviour": "behaviour", "other": "other concern",
}
OUTCOME_WORDS = {
    "advice_given": "advice given", "referral_made": "referral made", "early_help_offered": "early help offered",
    "no_further_action": "no further action", "pending": "pending",
}
_CANDIDATE_SCHEMA = {k: v for k, v in schemas.CONTACT_CANDIDATES.items() if k != "list_date"}


def contacts_in_window(contacts: pl.DataFrame, *, list_date: date, window_days: int) -> pl.DataFrame:
    """Contacts (``schemas.CURRENT_CONTACTS``) received from ``window_days`` before the list
    date to the list date (Europe/London dates, inclusive), with ``received_on`` added."""
    return contacts.with_columns(
        received_on=pl.col("received_at").dt.convert_time_zone(TIMEZONE).dt.date()
    ).filter(pl.col("received_on").is_between(list_date - timedelta(days=window_days), list_date))


def _age_on(dob: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Whole years between ``dob`` and ``day``."""
    years = day.dt.year() - dob.dt.year()
    before_birthday = (day.dt.month() < dob.dt.month()) | (
        (day.dt.month() == dob.dt.month()) & (day.dt.day() < dob.dt.day())
    )
    return years - before_birthday.cast(pl.Int32)


def _with_first_names(frame: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    folded = frame.with_columns(fold_name(pl.col(column)).alias(f"{prefix}_std"))
    return canonical_forename(folded, f"{prefix}_std", f"{prefix}_canon")


def contact_candidates(contacts: pl.DataFrame, children: pl.DataFrame) -> pl.DataFrame:
    """``schemas.CONTACT_CANDIDATES`` (without ``list_date``): every child each contact may
    be about, with ``fit_score`` (0..1) and ``fit`` in words.

    A child is a candidate through the caller's setting (its early-years return, school roll
    or GP list holds the child) or, where the contact names the family, through the names.
    What the caller said then narrows the set and is never contradicted: a date of birth
    must be the child's; an age must be the child's age on the day of the contact; a first
    name must be the child's, its usual form (Alfie for Alfred) or share its first three
    letters; a gender must not disagree."""
    if contacts.height == 0 or children.height == 0:
        return schemas.empty(_CANDIDATE_SCHEMA)
    said = _with_first_names(
        contacts.select(
            "contact_id", "caller_org", "child_forename", "child_surname", "child_dob", "child_age_years",
            "child_gender", received_on=pl.col("received_at").dt.convert_time_zone(TIMEZONE).dt.date(),
        ),
        "child_forename", "said_forename",
    ).with_columns(said_surname_std=fold_name(pl.col("child_surname")))
    # Each child under every forename and date of birth its records give (a register typo
    # must not hide the child from a caller who knows it by its setting's spelling).
    aliases = children.select(
        "child_id", "household_id", "surname",
        *[pl.col(c).cast(pl.String) for _, c in SETTING_COLUMNS],
        gender=pl.col("gender") if "gender" in children.columns else pl.lit(None, pl.String),
        forename=_known(children, "known_forenames", "forename", pl.String),
        dob=_known(children, "known_dobs", "dob", pl.Date),
    ).explode("forename").explode("dob")
    kids = _with_first_names(aliases, "forename", "kid_forename").with_columns(
        kid_surname_std=fold_name(pl.col("surname"))
    )
    settings = pl.concat([
        kids.filter(pl.col(column).is_not_null()).unique("child_id").select(
            "child_id", org=pl.col(column).str.replace_all(r"\s", "").str.to_uppercase(),
            matched_through=pl.concat_str([pl.lit(f"{tag}:"), pl.col(column)]),
        )
        for tag, column in SETTING_COLUMNS
    ])
    via_setting = said.filter(pl.col("caller_org").is_not_null()).join(
        settings, left_on="caller_org", right_on="org", how="inner"
    ).select("contact_id", "child_id", "matched_through")
    via_names = said.filter(pl.col("said_surname_std").is_not_null() & pl.col("said_forename_std").is_not_null()).join(
        kids.select("child_id", "kid_surname_std").unique(), left_on="said_surname_std", right_on="kid_surname_std",
    ).select("contact_id", "child_id", matched_through=pl.lit("named"))
    pairs = (
        pl.concat([via_setting, via_names])
        .join(said, on="contact_id")
        .join(kids, on="child_id")
    )
    age = _age_on(pl.col("dob"), pl.col("received_on"))
    dob_fits = pl.col("child_dob").is_null() | (pl.col("dob") == pl.col("child_dob"))
    age_fits = pl.col("child_age_years").is_null() | (age == pl.col("child_age_years"))
    exact_name = pl.col("said_forename_std") == pl.col("kid_forename_std")
    usual_name = pl.col("said_forename_canon") == pl.col("kid_forename_canon")
    near_name = pl.col("said_forename_std").str.head(3) == pl.col("kid_forename_std").str.head(3)
    name_fits = pl.col("said_forename_std").is_null() | exact_name | usual_name | near_name
    gender_fits = (
        pl.col("child_gender").is_null() | pl.col("child_gender").is_in(["u", "x"])
        | pl.col("gender").is_null() | (pl.col("gender") == pl.col("child_gender"))
    )
    # A candidate must have a date of birth to be checked against an age or a date given.
    checkable = (pl.col("child_dob").is_null() & pl.col("child_age_years").is_null()) | pl.col("dob").is_not_null()
    name_score = (
        pl.when(pl.col("said_forename_std").is_null()).then(None)
        .when(exact_name).then(1.0).when(usual_name).then(0.9).otherwise(0.6)
    )
    age_score = pl.when(pl.col("child_dob").is_not_null()).then(1.0).when(pl.col("child_age_years").is_not_null()).then(0.8)
    # The setting alone (no age, no name) says little: a nursery holds dozens of children.
    base = pl.when(pl.col("matched_through") == "named").then(0.5).otherwise(0.3)
    fit_words = pl.concat_list(
        pl.when(pl.col("child_dob").is_not_null()).then(pl.lit("date of birth matches")),
        pl.when(pl.col("child_dob").is_null() & pl.col("child_age_years").is_not_null())
        .then(pl.concat_str([pl.lit("age "), pl.col("child_age_years").cast(pl.String), pl.lit(" fits")])),
        pl.when(pl.col("said_forename_std").is_not_null() & exact_name).then(pl.lit("first name matches")),
        pl.when(pl.col("said_forename_std").is_not_null() & ~exact_name)
        .then(pl.concat_str([pl.lit("'"), pl.col("child_forename"), pl.lit("' given, may be "),
                             pl.col("forename")])),
        pl.when(pl.col("matched_through") == "named").then(pl.lit("named by the caller"))
        .otherwise(pl.concat_str([pl.lit("on the caller's "), _setting_words(pl.col("matched_through"))])),
    ).list.drop_nulls().list.join("; ")
    fitted = (
        pairs.filter(dob_fits & age_fits & name_fits & gender_fits & checkable)
        .with_columns(
            fit_score=pl.mean_horizontal(base, name_score, age_score).round(3),
            fit=fit_words,
        )
    )
    return schemas.conform(
        fitted.sort("fit_score", "matched_through", descending=[True, False])
        .unique(["contact_id", "child_id"], keep="first", maintain_order=True)
        .sort("contact_id", "fit_score", "child_id", descending=[False, True, False]),
        _CANDIDATE_SCHEMA,
    )


def _known(children: pl.DataFrame, known: str, single: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
    """The child's known values as a list: ``known`` where linkage gave it, else ``[single]``."""
    one = pl.concat_list(pl.col(single).cast(dtype))
    if known not in children.columns:
        return one
    return pl.when(pl.col(known).list.len() > 0).then(pl.col(known).cast(pl.List(dtype))).otherwise(one)


def _setting_words(matched: pl.Expr) -> pl.Expr:
    tag = matched.str.split(":").list.first()
    return tag.replace_strict(
        {"early_years": "early-years return", "school": "school roll", "gp": "GP list"}, default="records"
    )


def contact_line(contacts: pl.DataFrame) -> pl.Expr:
    """One line per contact for the MASH list: date, caller, setting, concern, stated and
    recorded level, outcome ("12 Oct 2026: childminder EY123456, anonymous consultation on
    domestic abuse; stated level 3, recorded level 2; advice given")."""
    del contacts  # the expression reads the contact's columns
    anonymous = pl.when(pl.col("anonymous") == "yes").then(pl.lit("anonymous ")).otherwise(pl.lit(""))
    return pl.concat_str([
        pl.col("received_at").dt.convert_time_zone(TIMEZONE).dt.strftime("%-d %b %Y"), pl.lit(": "),
        pl.col("caller_role").replace_strict(CALLER_WORDS, default="caller"),
        pl.when(pl.col("caller_org").is_not_null()).then(pl.lit(" ") + pl.col("caller_org")).otherwise(pl.lit("")),
        pl.lit(", "), anonymous, pl.col("contact_type"), pl.lit(" on "),
        pl.col("concern_category").replace_strict(CONCERN_WORDS, default="a concern"),
        pl.lit("; "),
        pl.when(pl.col("level_stated").is_not_null())
        .then(pl.concat_str([pl.lit("stated level "), pl.col("level_stated"), pl.lit(", ")])).otherwise(pl.lit("")),
        pl.lit("recorded level "), pl.col("level_recorded"), pl.lit("; "),
        pl.col("outcome").replace_strict(OUTCOME_WORDS, default="outcome not recorded"),
    ])


def child_contact_facts(
    contacts: pl.DataFrame, candidates: pl.DataFrame, *, previous_list_date: date | None,
    repeat_days: int, min_callers: int,
) -> pl.DataFrame:
    """Per child with a contact in the window: ``contact_ids`` (oldest first),
    ``new_contact_ids`` (first delivered after the previous list), ``contact_lines``
    (one line each, with how the contact reached the child) and ``repeated_ids``: the
    contacts of ``min_callers`` different callers (role and organisation) within
    ``repeat_days`` of each other, empty when there are none."""
    schema: schemas.Schema = {
        "child_id": pl.String, "contact_ids": pl.List(pl.String), "new_contact_ids": pl.List(pl.String),
        "contact_lines": pl.List(pl.String), "repeated_ids": pl.List(pl.String),
    }
    if candidates.height == 0:
        return schemas.empty(schema)
    new = pl.lit(True) if previous_list_date is None else pl.col("first_seen_on") > pl.lit(previous_list_date)
    caller = pl.concat_str([pl.col("caller_role"), pl.col("caller_org").fill_null("")], separator="|")
    per = candidates.select("contact_id", "child_id", "matched_through", "fit").join(
        contacts.with_columns(
            _line=contact_line(contacts), _caller=caller, _new=new,
        ).select("contact_id", "received_at", "_line", "_caller", "_new"),
        on="contact_id",
    ).with_columns(
        _line=pl.concat_str([
            pl.col("_line"),
            pl.when(pl.col("matched_through") == "named").then(pl.lit("")).otherwise(
                pl.concat_str([pl.lit(" (may be this child: "), pl.col("fit"), pl.lit(")")])
            ),
        ])
    )
    # Contacts of different callers within the repeat window of each other (a self-join per
    # child: a handful of contacts each).
    near = (
        per.select("child_id", "contact_id", "received_at", "_caller")
        .join(per.select("child_id", o_id="contact_id", o_at="received_at", o_caller="_caller"), on="child_id")
        .filter(
            (pl.col("_caller") != pl.col("o_caller"))
            & ((pl.col("received_at") - pl.col("o_at")).abs() <= pl.duration(days=repeat_days))
        )
        .group_by("child_id", "contact_id")
        .agg(n_callers=pl.col("o_caller").n_unique() + 1)
        .filter(pl.col("n_callers") >= min_callers)
        .sort("contact_id")
        .group_by("child_id", maintain_order=True)
        .agg(repeated_ids=pl.col("contact_id"))
    )
    out = (
        per.sort("received_at", "contact_id")
        .group_by("child_id", maintain_order=True)
        .agg(
            contact_ids=pl.col("contact_id"),
            new_contact_ids=pl.col("contact_id").filter(pl.col("_new")),
            contact_lines=pl.col("_line"),
        )
        .join(near, on="child_id", how="left")
        .with_columns(repeated_ids=pl.col("repeated_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    )
    return schemas.conform(out, schema)


def consultations_to_revisit(contacts: pl.DataFrame, candidates: pl.DataFrame, *, list_date: date) -> pl.DataFrame:
    """``schemas.CONSULTATIONS_TO_REVISIT``: the contacts delivered (new or changed) on the
    list date whose level of concern was not clear on both sides: the caller's stated level
    above the MASH's recorded level, or a domestic-abuse consultation closed with advice.
    Listed whether or not anything else follows."""
    stated = pl.col("level_stated").cast(pl.Int32, strict=False)
    recorded = pl.col("level_recorded").cast(pl.Int32, strict=False)
    higher = stated.is_not_null() & (stated > recorded)
    da_advice = (
        (pl.col("contact_type") == "consultation") & (pl.col("concern_category") == "domestic_abuse")
        & (pl.col("outcome") == "advice_given")
    )
    tonight = contacts.filter((pl.col("last_changed_on") == pl.lit(list_date)) & (higher | da_advice))
    per_contact = candidates.group_by("contact_id").agg(candidate_child_ids=pl.col("child_id").sort())
    out = tonight.join(per_contact, on="contact_id", how="left").with_columns(
        list_date=pl.lit(list_date),
        why=pl.concat_list(
            pl.when(higher).then(pl.concat_str([
                pl.lit("the caller stated level "), pl.col("level_stated"), pl.lit("; the MASH recorded level "),
                pl.col("level_recorded"),
            ])),
            pl.when(da_advice).then(pl.lit("a consultation about domestic abuse closed with advice only")),
        ).list.drop_nulls(),
        candidate_child_ids=pl.col("candidate_child_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )
    return schemas.conform(out.sort("received_at", "contact_id"), schemas.CONSULTATIONS_TO_REVISIT)
