"""The synthetic county's partner sources of landing contract v2: the early-years return,
children's social care and the MASH's contact log, with their real-world defects and truth.

Drawn from the county ``pipeline.synth.county`` builds (its people, households, addresses, schools
and GP practices), so the same children are on the health register, the school roll and
these files. What the contract lists as real deliveries is here on purpose:

- an anonymous consultation names the caller's setting and usually the child's age,
  sometimes a first name (as the setting knows it), never the family;
- the same child consulted about twice, by different callers, within weeks;
- a contact whose ``level_stated`` is above its ``level_recorded``;
- a childminder's URN with a stray space ("EY 123456");
- a child on the early-years return under a nickname, or at a parent's other home;
- a social-care case closed last month; an unborn child (``pre_birth``) at a DA address.

The truth (``truth/contacts.parquet``) says which child each contact was about, and
``truth/partner_records.parquet`` which person each early-years and social-care record is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from pipeline import schemas
from pipeline.synth.names import nickname_table

LONDON = ZoneInfo("Europe/London")
ATTENDS_SETTING = 0.6          # of children under five: on an early-years return
CHILDMINDED = 0.6              # of those: with a childminder (else a nursery)
CHILDMINDER_PLACES = 4
NURSERY_PLACES = 20
EARLY_YEARS_EVERY_DAYS = 28    # the return is monthly
SOCIAL_CARE_SHARE = 0.04       # of children: open or recently closed involvement
PRE_BIRTH_SHARE = 0.01         # of households with children: an unborn child known to social care
CONTACTS_PER_CHILD_YEAR = 0.06
REPEAT_SHARE = 0.15            # of contacts: a second caller about the same child within weeks
STATED_ABOVE_SHARE = 0.25      # the caller's level above the MASH's
NICKNAME_SHARE = 0.1           # early years: the child under the name the setting uses
OTHER_HOME_SHARE = 0.05        # early years: a parent's other home
STRAY_SPACE_SHARE = 0.3        # of childminders: their URN written "EY 123456"
_STATUSES = ("early_help", "referral", "assessment", "child_in_need", "child_protection_plan", "looked_after", "closed")
_STATUS_P = np.array([0.25, 0.1, 0.1, 0.2, 0.1, 0.05, 0.2])
_CONCERNS = ("domestic_abuse", "physical_injury", "neglect", "emotional", "sexual", "behaviour", "other")
_CONCERN_P = np.array([0.25, 0.15, 0.2, 0.15, 0.05, 0.1, 0.1])
_OUTCOMES = ("advice_given", "referral_made", "early_help_offered", "no_further_action", "pending")
_OUTCOME_P = np.array([0.45, 0.15, 0.15, 0.2, 0.05])


@dataclass(frozen=True)
class PartnerFiles:
    """Each partner file's rows by delivery date (contract columns), and the truth."""

    deliveries: dict[date, dict[str, pl.DataFrame]]
    contacts_truth: pl.DataFrame      # contact_id, person_uid, caller_role, caller_org, anonymous
    records_truth: pl.DataFrame       # source, record_key, person_uid


def _age_years(dob: pl.Expr, day: date) -> pl.Expr:
    before = (dob.dt.month() > day.month) | ((dob.dt.month() == day.month) & (dob.dt.day() > day.day))
    return pl.lit(day.year) - dob.dt.year() - before.cast(pl.Int32)


def _settings(rng: np.random.Generator, young: pl.DataFrame) -> pl.DataFrame:
    """Each attending child's setting: a childminder or a nursery in its town."""
    n = young.height
    minded = rng.random(n) < CHILDMINDED
    town = young["town_idx"].to_numpy()
    # Places are filled in order of a random key within each town and kind.
    order = pl.DataFrame({"i": np.arange(n), "town": town, "minded": minded, "k": rng.random(n)}).sort("town", "minded", "k")
    order = order.with_columns(pl.int_range(pl.len()).over("town", "minded").alias("place"))
    order = order.with_columns(
        (pl.col("place") // pl.when(pl.col("minded")).then(CHILDMINDER_PLACES).otherwise(NURSERY_PLACES)).alias("slot")
    ).sort("i")
    setting_no = order["town"] * 1000 + order["slot"] + np.where(order["minded"], 0, 500)
    urn = pl.when(pl.Series(minded)).then(
        pl.lit("EY") + (pl.lit(100_000) + pl.Series(setting_no)).cast(pl.String)
    ).otherwise((pl.lit(200_000) + pl.Series(setting_no)).cast(pl.String))
    return young.with_columns(
        urn.alias("provider_urn"),
        pl.when(pl.Series(minded)).then(pl.lit("childminder")).otherwise(pl.lit("nursery")).alias("provider_type"),
    ).with_columns(
        pl.when(pl.col("provider_type") == "childminder")
        .then(pl.lit("Childminder ") + pl.col("provider_urn"))
        .otherwise(pl.lit("Nursery ") + pl.col("provider_urn")).alias("provider_name"),
    )


def build_partner_files(
    people: pl.DataFrame, households: pl.DataFrame, addresses: pl.DataFrame, schools: pl.DataFrame,
    practices: pl.DataFrame, incident_households: list[int], *, seed: int, start_date: date,
    deliveries: list[date],
) -> PartnerFiles:
    """The three partner files for every delivery date, with their defects and truth.

    ``people``/``households``/``addresses``/``schools``/``practices`` are the county's frames
    (``pipeline.synth.county.County``); ``incident_households`` the households a DA incident
    touched (an unborn child is placed in some of them)."""
    rng = np.random.default_rng([seed, 16])
    end = deliveries[-1]
    addr = addresses.select(
        "addr", "flat", "number", "street", "stype", "town", "postcode", "uprn",
        line1=pl.when(pl.col("flat").is_not_null())
        .then(pl.lit("Flat ") + pl.col("flat").cast(pl.String) + pl.lit(", ") + pl.col("number").cast(pl.String)
              + pl.lit(" ") + pl.col("street") + pl.lit(" ") + pl.col("stype"))
        .otherwise(pl.col("number").cast(pl.String) + pl.lit(" ") + pl.col("street") + pl.lit(" ") + pl.col("stype")),
    )
    hh = households.select("hh", "addr", "town_idx")
    children = people.filter(pl.col("is_child")).join(hh, on="hh", how="left").join(addr, on="addr", how="left")

    # ---- early years -----------------------------------------------------------------
    young = children.filter(pl.col("dob") > _years(start_date, 5))
    young = young.filter(pl.Series(rng.random(young.height) < ATTENDS_SETTING))
    young = _settings(rng, young)
    nicknames = nickname_table()
    nick_of = pl.DataFrame({"forename": list(nicknames), "nick": [v[0] for v in nicknames.values()]})
    young = young.join(nick_of, on="forename", how="left").with_columns(
        pl.Series("_nick", rng.random(young.height) < NICKNAME_SHARE),
        pl.Series("_other", rng.random(young.height) < OTHER_HOME_SHARE),
        pl.Series("_other_addr", rng.integers(0, addresses.height, size=young.height)),
    )
    spaced = set(young.filter(pl.col("provider_type") == "childminder")["provider_urn"].unique().sort().to_list())
    spaced = {u for u in spaced if rng.random() < STRAY_SPACE_SHARE}
    other = addr.rename({c: f"o_{c}" for c in addr.columns})
    young = young.join(other, left_on="_other_addr", right_on="o_addr", how="left").with_columns(
        pl.when(pl.col("_nick") & pl.col("nick").is_not_null()).then(pl.col("nick")).otherwise(pl.col("forename"))
        .alias("ey_forename"),
        pl.when(pl.col("provider_urn").is_in(list(spaced))).then(
            pl.col("provider_urn").str.slice(0, 2) + pl.lit(" ") + pl.col("provider_urn").str.slice(2)
        ).otherwise(pl.col("provider_urn")).alias("urn_written"),
        pl.when(pl.col("_other")).then(pl.col("o_line1")).otherwise(pl.col("line1")).alias("address_line1"),
        pl.when(pl.col("_other")).then(pl.col("o_town")).otherwise(pl.col("town")).alias("town_w"),
        pl.when(pl.col("_other")).then(pl.col("o_postcode")).otherwise(pl.col("postcode")).alias("postcode_w"),
    )
    ey_days = [d for i, d in enumerate(deliveries) if i == 0 or (d - deliveries[0]).days % EARLY_YEARS_EVERY_DAYS == 0]

    def ey_file(day: date) -> pl.DataFrame:
        return young.filter((pl.col("dob") <= day) & (pl.col("dob") > _years(day, 5))).select(
            pl.col("urn_written").alias("provider_urn"), "provider_name", "provider_type",
            pl.col("ey_forename").alias("forename"), "surname", pl.col("dob").dt.strftime("%Y-%m-%d").alias("dob"),
            "gender", "address_line1", pl.lit(None, pl.String).alias("address_line2"),
            pl.col("town_w").alias("town"), pl.col("postcode_w").alias("postcode"), pl.lit(None, pl.String).alias("uprn"),
            pl.lit(None, pl.String).alias("attends_from"),
        )

    # ---- social care -----------------------------------------------------------------
    known = children.filter(pl.Series(rng.random(children.height) < SOCIAL_CARE_SHARE))
    status = rng.choice(len(_STATUSES), size=known.height, p=_STATUS_P / _STATUS_P.sum())
    since_days = np.where(np.array(_STATUSES)[status] == "closed", rng.integers(5, 80, known.height),
                          rng.integers(10, 400, known.height))
    known = known.with_columns(
        pl.Series("status", np.array(_STATUSES)[status]).cast(pl.String),
        (pl.lit(start_date) - pl.duration(days=pl.lit(pl.Series(since_days)))).alias("status_since"),
        (pl.lit("SC") + (pl.col("uid") + 10_000).cast(pl.String)).alias("case_ref"),
        (pl.col("town").fill_null("County") + pl.lit(" CIN Team ") + (pl.col("uid") % 3 + 1).cast(pl.String)).alias("team"),
    )
    with_kids = households.filter(pl.col("n_children") > 0)["hh"].to_list()
    touched = sorted(set(incident_households) & set(with_kids))
    n_pre = max(1, int(len(with_kids) * PRE_BIRTH_SHARE))
    pre_hh = list(rng.choice(touched, size=min(len(touched), max(1, n_pre // 2)), replace=False)) if touched else []
    rest = [h for h in with_kids if h not in set(pre_hh)]
    pre_hh += list(rng.choice(rest, size=min(len(rest), n_pre - len(pre_hh)), replace=False)) if rest else []
    mothers = (
        people.filter(~pl.col("is_child") & pl.col("hh").is_in(pre_hh)).sort("hh", "rank")
        .unique("hh", keep="first").join(hh, on="hh").join(addr, on="addr")
    )
    unborn = mothers.select(
        (pl.lit("SC") + (pl.col("hh") + 900_000).cast(pl.String)).alias("case_ref"),
        pl.lit("Unborn").alias("forename"), "surname", pl.lit(None, pl.Date).alias("dob"), pl.lit(None, pl.String).alias("gender"),
        pl.lit(None, pl.String).alias("nhs_all"), pl.lit(None, pl.String).alias("upn_all"), "line1", "town", "postcode", "uprn",
        pl.lit("pre_birth").alias("status"), (pl.lit(start_date) - pl.duration(days=20)).alias("status_since"),
        (pl.col("town").fill_null("County") + pl.lit(" CIN Team 1")).alias("team"),
        pl.lit(None, pl.Int64).alias("uid"), "hh",
    )
    sc = pl.concat([
        known.select("case_ref", "forename", "surname", "dob", "gender", "nhs_all", "upn_all", "line1", "town", "postcode",
                     "uprn", "status", "status_since", "team", "uid", "hh"),
        unborn,
    ], how="vertical_relaxed")

    def sc_file(day: date) -> pl.DataFrame:
        return sc.filter(pl.col("dob").is_null() | (pl.col("dob") <= day)).select(
            "case_ref", "forename", "surname", pl.col("dob").dt.strftime("%Y-%m-%d").alias("dob"), "gender",
            pl.col("nhs_all").alias("nhs_number"), pl.col("upn_all").alias("upn"),
            pl.col("line1").alias("address_line1"), pl.lit(None, pl.String).alias("address_line2"), "town", "postcode",
            "uprn", "status", pl.col("status_since").dt.strftime("%Y-%m-%d").alias("status_since"), "team",
        )

    # ---- MASH contacts ---------------------------------------------------------------
    span = (end - start_date).days + 1
    # Enough anonymous consultations on a small test county to measure how they resolve.
    n_contacts = max(120, int(children.height * CONTACTS_PER_CHILD_YEAR * max(span, 30) / 365))
    contacts = _contacts(rng, children, young, schools, practices, n_contacts, start_date, span)
    by_day: dict[date, dict[str, pl.DataFrame]] = {}
    for day in deliveries:
        files: dict[str, pl.DataFrame] = {}
        if day in ey_days:
            files["early_years"] = ey_file(day)
        if day.weekday() < 5 or day == deliveries[0]:
            files["social_care"] = sc_file(day)
        tonight = contacts.filter(pl.col("_delivered") == day)
        if tonight.height:
            files["mash_contacts"] = tonight.select(schemas.CONTRACT_COLUMNS["mash_contacts"])
        by_day[day] = files
    records = pl.concat([
        young.select(
            pl.lit("early_years").alias("source"),
            pl.concat_str([pl.lit("early_years:"), pl.col("provider_urn"), pl.lit(":"), pl.col("ey_forename"),
                           pl.lit(":"), pl.col("surname"), pl.lit(":"), pl.col("dob").dt.strftime("%Y-%m-%d")])
            .alias("record_key"),
            pl.col("uid").alias("person_uid"),
        ),
        sc.select(pl.lit("social_care").alias("source"), (pl.lit("social_care:") + pl.col("case_ref")).alias("record_key"),
                  pl.col("uid").alias("person_uid")),
    ])
    truth = contacts.select("contact_id", pl.col("uid").alias("person_uid"), "caller_role", "caller_org", "anonymous",
                            "child_forename", "child_age_years", pl.col("_delivered").alias("delivered_on"))
    return PartnerFiles(by_day, truth, records)


def _years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _contacts(
    rng: np.random.Generator, children: pl.DataFrame, young: pl.DataFrame, schools: pl.DataFrame,
    practices: pl.DataFrame, n: int, start: date, span: int,
) -> pl.DataFrame:
    """``n`` contacts (and a second caller for some), each about one child of the county."""
    del schools, practices  # callers here are early-years settings and health visitors
    ey = young.select("uid", "forename", "ey_forename", "surname", "dob", "gender", org=pl.col("provider_urn"),
                      role=pl.col("provider_type"))
    pick = ey.sample(n=min(n, ey.height), seed=int(rng.integers(1 << 31)), shuffle=True)
    day_no = rng.integers(0, span, size=pick.height)
    received = [
        datetime.combine(start + timedelta(days=int(d)), datetime.min.time(), LONDON) + timedelta(hours=int(h))
        for d, h in zip(day_no, rng.integers(8, 18, size=pick.height), strict=True)
    ]
    pick = pick.with_columns(
        pl.Series("received", received, dtype=pl.Datetime("us", "Europe/London")),
        pl.Series("_name", rng.random(pick.height) < np.where(pick["role"].to_numpy() == "nursery", 0.8, 0.4)),
        pl.Series("_age", rng.random(pick.height) < 0.9),
        pl.Series("_anon", rng.random(pick.height) < 0.8),
    )
    # The second caller about the same child: the health visitor, weeks later, naming the child.
    repeat = pick.filter(pl.Series(rng.random(pick.height) < REPEAT_SHARE))
    repeat = repeat.with_columns(
        pl.lit("health_visitor").alias("role"), pl.lit(None, pl.String).alias("org"),
        (pl.col("received") + pl.duration(days=pl.lit(pl.Series(rng.integers(3, 60, size=repeat.height)))))
        .alias("received"),
        pl.lit(True).alias("_name"), pl.lit(False).alias("_anon"),
    )
    both = pl.concat([pick, repeat]).with_row_index("_n")
    m = both.height
    stated = rng.integers(1, 5, size=m)
    above = rng.random(m) < STATED_ABOVE_SHARE
    recorded = np.where(above, np.maximum(stated - 1, 1), stated)
    above = stated > recorded
    last = start + timedelta(days=span - 1)
    out = both.with_columns(
        (pl.lit("MC-") + (pl.col("_n") + 1).cast(pl.String).str.zfill(6)).alias("contact_id"),
        pl.col("received").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("received_at"),
        (pl.col("received") + pl.duration(hours=2)).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("updated_at"),
        pl.when(pl.col("_anon")).then(pl.lit("consultation")).otherwise(pl.lit("referral")).alias("contact_type"),
        pl.when(pl.col("_anon")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("anonymous"),
        pl.col("role").alias("caller_role"), pl.col("org").alias("caller_org"),
        pl.when(pl.col("_name")).then(pl.col("ey_forename")).otherwise(None).alias("child_forename"),
        pl.when(~pl.col("_anon")).then(pl.col("surname")).otherwise(None).alias("child_surname"),
        pl.when(~pl.col("_anon")).then(pl.col("dob").dt.strftime("%Y-%m-%d")).otherwise(None).alias("child_dob"),
        pl.when(pl.col("_age")).then(
            (pl.col("received").dt.year() - pl.col("dob").dt.year()
             - ((pl.col("received").dt.month() < pl.col("dob").dt.month())
                | ((pl.col("received").dt.month() == pl.col("dob").dt.month())
                   & (pl.col("received").dt.day() < pl.col("dob").dt.day()))).cast(pl.Int32)).cast(pl.String)
        ).otherwise(None).alias("child_age_years"),
        pl.lit(None, pl.String).alias("child_gender"), pl.lit(None, pl.String).alias("address_line1"),
        pl.lit(None, pl.String).alias("postcode"),
        pl.Series("concern_category", np.array(_CONCERNS)[rng.choice(len(_CONCERNS), m, p=_CONCERN_P / _CONCERN_P.sum())]),
        pl.Series("level_stated", stated.astype(str)), pl.Series("level_recorded", recorded.astype(str)),
        pl.Series("outcome", np.array(_OUTCOMES)[rng.choice(len(_OUTCOMES), m, p=_OUTCOME_P / _OUTCOME_P.sum())]),
        pl.lit(None, pl.String).alias("summary"),
        pl.Series("_stated_above", above),
    ).with_columns(
        pl.min_horizontal(pl.col("received").dt.date(), pl.lit(last)).alias("_delivered"),
    )
    return out.filter(pl.col("received").dt.date() <= last).with_columns(pl.col("concern_category").cast(pl.String))


def write_partner_truth(truth_dir: Path, files: PartnerFiles, *, person_uid: Callable[[str], pl.Expr]) -> None:
    """``contacts.parquet`` and ``partner_records.parquet``, people named as in ``people.parquet``."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    files.contacts_truth.with_columns(person_uid("person_uid").alias("person_uid")).write_parquet(truth_dir / "contacts.parquet")
    files.records_truth.with_columns(person_uid("person_uid").alias("person_uid")).write_parquet(truth_dir / "partner_records.parquet")


def candidate_accuracy(
    candidates: pl.DataFrame, child_xref: pl.DataFrame, truth_dir: Path, *, delivered_by: date,
) -> dict[str, float]:
    """How well anonymous consultations resolve on the synthetic county: the share whose
    candidate set holds the child the consultation was really about, and the median set size
    (an empty set counts as size 0 and a miss).

    ``candidates`` is ``marts.contact_candidates`` of one list date, ``child_xref`` the
    record → child ids of that night (``linked.child_xref``); the truth maps register and
    partner records to people."""
    people = pl.read_parquet(truth_dir / "people.parquet")
    records = pl.concat([
        people.filter(pl.col("nhs_number").is_not_null())
        .select(record_id=pl.lit("health_register:") + pl.col("nhs_number"), person_uid="person_uid"),
        people.filter(pl.col("upn").is_not_null())
        .select(record_id=pl.lit("school_census:") + pl.col("upn"), person_uid="person_uid"),
        pl.read_parquet(truth_dir / "partner_records.parquet").select(
            record_id="record_key", person_uid="person_uid"
        ).drop_nulls(),
    ])
    child_people = child_xref.join(records, on="record_id").select("child_id", "person_uid").unique()
    truth = pl.read_parquet(truth_dir / "contacts.parquet").filter(
        (pl.col("anonymous") == "yes") & (pl.col("delivered_on") <= delivered_by)
    )
    sets = candidates.select("contact_id", "child_id").join(child_people, on="child_id", how="left")
    per = truth.select("contact_id", "person_uid").join(
        sets.group_by("contact_id").agg(
            size=pl.col("child_id").n_unique(), uids=pl.col("person_uid").drop_nulls().unique()
        ),
        on="contact_id", how="left",
    ).with_columns(
        size=pl.col("size").fill_null(0),
        holds=pl.col("uids").list.contains(pl.col("person_uid")).fill_null(False),
    )
    return {
        "anonymous_consultations": float(per.height),
        "holds_true_child": float(per["holds"].cast(pl.Float64).mean() or 0.0),  # type: ignore[arg-type]
        "median_set_size": float(per["size"].cast(pl.Float64).median() or 0.0),  # type: ignore[arg-type]
    }
