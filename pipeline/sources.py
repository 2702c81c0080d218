"""The source registry: one frozen spec per delivered source, and everything derived from it.

Every per-source list hearth needs — the landing columns and enums, the staged schema,
the order and duplicate key of validation, the raw and staging tables, the retention class,
record ids, the source label and priority in linkage, the agency a coordinator calls — is
read from :data:`REGISTRY`. A source missing from a hand-kept list used to be landed and
never validated, or staged and never purged; now a source is either in the registry, and
then in every stage, or nowhere (``tests/test_sources.py`` walks the registry through them).

How to add a source is written down in ``docs/sources.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from pipeline.errors import UnknownSourceError

Schema = dict[str, pl.DataType | type[pl.DataType]]
# police: versions upserted by key (police and the MASH's own contact log); register: full
# snapshots, the latest standing until the next.
Kind = Literal["police", "register", "contacts"]
# What the retention policy keeps a source's staged rows for (RetentionPolicy.<class>_days).
RetentionClass = Literal["police", "register"]
# The link types a source's records take part in (schemas.LINK_DECISIONS.link_type).
LinkType = Literal["register_child", "police_child", "police_adult"]

# Every row read from a file carries where it came from. `_row` is the 1-based data-row
# number (the header is not counted), so "row 1" is the first line after the header.
LINEAGE: Schema = {"_file": pl.String, "_row": pl.Int64}

ADDRESS: Schema = {
    "address_line1": pl.String, "address_line2": pl.String, "town": pl.String,
    "postcode": pl.String, "uprn": pl.String,
}
GENDERS = ("f", "m", "x", "u")


@dataclass(frozen=True)
class Agency:
    """Who a coordinator contacts about a child this source holds: ``<tag>:<column value>``
    on the MASH list (e.g. ``school:<school_urn>``), shown as ``<label> …`` in the report."""

    tag: str
    column: str | None     # the staged column naming the contact (None: the agency itself)
    label: str
    order: int             # position among a household's agencies on the MASH list


@dataclass(frozen=True)
class SourceSpec:
    """One delivered source: its landing contract, its tables and its part in the night."""

    name: str
    kind: Kind
    required: tuple[str, ...]            # landing columns a file must carry
    optional: tuple[str, ...]            # landing columns a file may carry
    enums: dict[str, tuple[str, ...]]    # lower-case allowed values per landing column
    staged: Schema                       # typed valid rows (schemas.STAGED[name])
    key: tuple[str, ...]                 # the duplicate key validation settles
    # Registers: the column that identifies a child; a row staged without a usable one is
    # known by its substitute_id instead.
    identifier: str | None
    # The record id is "<name>:" + these parts joined by ":"; each part is the first non-null
    # of its columns (a register's identifier, else its substitute id).
    id_parts: tuple[tuple[str, ...], ...]
    staging_table: str
    date_column: str                     # staging's delivery key: delivery_date | snapshot_date
    retention: RetentionClass
    # Linkage: the link types the source's records take part in, the priority of its values
    # when one child is on several sources (0 first), and the label in child_index.sources.
    link_types: tuple[LinkType, ...] = ()
    link_priority: int | None = None
    child_label: str | None = None
    agency: Agency | None = None
    words: str = ""                      # the source in a sentence ("health register")
    sender: str = "the register owner"   # who sends the file, for messages about it
    extras: tuple[str, ...] = field(default=())  # staged columns not delivered (substitute_id, …)
    # How a reviewer sees one record beside another ("GP A81001"); linked sources only.
    detail: Callable[[], pl.Expr] | None = None
    # Linked sources that are not registers: the query (sql/queries) of each record's
    # latest staged version on or before $as_of. A register's is its latest snapshot.
    records_query: str | None = None
    # Landing columns whose spaces are removed and letters upper-cased before checking
    # (an Ofsted URN typed "EY 123456" is still EY123456).
    compact: tuple[str, ...] = ()
    # Versions: the column whose latest value wins among rows of one key in one delivery.
    latest_by: str | None = None
    # Snapshots: days a snapshot may stand before the night fails as stale (None: the
    # configured ingest.register_max_age_days). A monthly return stands for a month and more.
    max_age_days: int | None = None
    # False for a partner that may never have delivered: until its first file the source is
    # absent from the night's picture (and the report says so) instead of failing the night.
    always_delivered: bool = True

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def contract_columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def is_register(self) -> bool:
        return self.kind == "register"

    def record_id(self) -> pl.Expr:
        """The record id linkage and audit know a staged row by, as a polars expression."""
        parts: list[pl.Expr] = [pl.lit(f"{self.name}:")]
        for i, columns in enumerate(self.id_parts):
            if i:
                parts.append(pl.lit(":"))
            parts.append(pl.coalesce(*columns) if len(columns) > 1 else pl.col(columns[0]))
        return pl.concat_str(*parts)


def _register_staged(identifier: str, own: Schema) -> Schema:
    return {
        identifier: pl.String, "forename": pl.String, "surname": pl.String, "dob": pl.Date,
        "gender": pl.String, **ADDRESS, **own, "substitute_id": pl.String, **LINEAGE,
    }


POLICE_INCIDENTS = SourceSpec(
    name="police_incidents",
    kind="police",
    required=("incident_id", "reported_at", "updated_at", "dash_risk", "children_present", "address_line1"),
    optional=("offence", "address_line2", "town", "postcode", "uprn"),
    enums={
        "dash_risk": ("standard", "medium", "high", "not_assessed"),
        "children_present": ("yes", "no", "unknown"),
    },
    staged={
        "incident_id": pl.String,
        "reported_at": pl.Datetime("us", "UTC"),
        "updated_at": pl.Datetime("us", "UTC"),
        "dash_risk": pl.String,
        "children_present": pl.String,
        "offence": pl.String,
        **ADDRESS,
        # updated_at was a naive local time in the repeated October hour (read as BST).
        "updated_at_ambiguous": pl.Boolean,
        **LINEAGE,
    },
    key=("incident_id",),
    identifier=None,
    id_parts=(("incident_id",),),
    latest_by="updated_at",
    staging_table="staging.police_incident_versions",
    date_column="delivery_date",
    retention="police",
    agency=Agency(tag="police", column=None, label="Police", order=0),
    words="police incidents",
    sender="police",
    extras=("updated_at_ambiguous",),
)

POLICE_PERSONS = SourceSpec(
    name="police_persons",
    kind="police",
    required=("incident_id", "person_ref", "role", "forename", "surname"),
    optional=("dob", "gender", "relationship_to_victim", "address_line1", "address_line2", "town", "postcode", "uprn"),
    enums={
        "role": ("victim", "suspect", "child", "witness", "other"),
        "gender": GENDERS,
        "relationship_to_victim": (
            "self", "partner", "ex_partner", "parent", "step_parent", "child", "step_child",
            "sibling", "other_family", "other", "unknown",
        ),
    },
    staged={
        "incident_id": pl.String,
        "person_ref": pl.String,
        "role": pl.String,
        "forename": pl.String,
        "surname": pl.String,
        "dob": pl.Date,
        "gender": pl.String,
        "relationship_to_victim": pl.String,
        **ADDRESS,
        **LINEAGE,
    },
    key=("incident_id", "person_ref"),
    identifier=None,
    id_parts=(("incident_id",), ("person_ref",)),
    staging_table="staging.police_person_versions",
    date_column="delivery_date",
    retention="police",
    link_types=("police_child", "police_adult"),
    link_priority=4,
    child_label="police",
    detail=lambda: pl.concat_str(pl.col("role"), pl.lit(" on incident "), pl.col("incident_id")),
    records_query="police_person_records",
    words="police",
    sender="police",
)

SCHOOL_CENSUS = SourceSpec(
    name="school_census",
    kind="register",
    required=("upn", "forename", "surname", "dob", "address_line1", "postcode", "school_urn", "school_name"),
    optional=("gender", "address_line2", "town", "uprn", "year_group"),
    enums={"gender": GENDERS},
    staged=_register_staged("upn", {"school_urn": pl.String, "school_name": pl.String, "year_group": pl.String}),
    key=("upn",),
    identifier="upn",
    id_parts=(("upn", "substitute_id"),),
    staging_table="staging.school_census_snapshots",
    date_column="snapshot_date",
    retention="register",
    link_types=("register_child", "police_child"),
    link_priority=1,
    child_label="school_census",
    agency=Agency(tag="school", column="school_urn", label="School", order=1),
    detail=lambda: pl.concat_str(
        pl.lit("school "), pl.col("school_urn"), pl.lit(" "), pl.col("school_name").fill_null("")
    ),
    words="school census",
    extras=("substitute_id",),
)

HEALTH_REGISTER = SourceSpec(
    name="health_register",
    kind="register",
    required=("nhs_number", "forename", "surname", "dob", "address_line1", "postcode", "gp_practice_code"),
    optional=("gender", "address_line2", "town", "uprn", "health_visitor_team"),
    enums={"gender": GENDERS},
    staged=_register_staged("nhs_number", {"gp_practice_code": pl.String, "health_visitor_team": pl.String}),
    key=("nhs_number",),
    identifier="nhs_number",
    id_parts=(("nhs_number", "substitute_id"),),
    staging_table="staging.health_register_snapshots",
    date_column="snapshot_date",
    retention="register",
    link_types=("register_child", "police_child"),
    link_priority=0,
    child_label="health_register",
    agency=Agency(tag="gp", column="gp_practice_code", label="GP practice", order=2),
    detail=lambda: pl.concat_str(pl.lit("GP "), pl.col("gp_practice_code")),
    words="health register",
    extras=("substitute_id",),
)

EARLY_YEARS = SourceSpec(
    name="early_years",
    kind="register",
    required=("provider_urn", "provider_name", "provider_type", "forename", "surname", "dob", "address_line1", "postcode"),
    optional=("gender", "address_line2", "town", "uprn", "attends_from"),
    enums={
        "provider_type": ("childminder", "nursery", "preschool", "school_nursery", "other"),
        "gender": GENDERS,
    },
    staged={
        "provider_urn": pl.String, "provider_name": pl.String, "provider_type": pl.String,
        "forename": pl.String, "surname": pl.String, "dob": pl.Date, "gender": pl.String,
        **ADDRESS, "attends_from": pl.Date, **LINEAGE,
    },
    # No identifier is delivered: a child is known by the setting, name and date of birth.
    key=("provider_urn", "forename", "surname", "dob"),
    identifier=None,
    id_parts=(("provider_urn",), ("forename",), ("surname",), ("dob",)),
    staging_table="staging.early_years_snapshots",
    date_column="snapshot_date",
    retention="register",
    link_types=("register_child", "police_child"),
    link_priority=3,
    child_label="early_years",
    agency=Agency(tag="early_years", column="provider_urn", label="Early-years setting", order=3),
    detail=lambda: pl.concat_str(
        pl.lit("early years "), pl.col("provider_urn"), pl.lit(" "), pl.col("provider_name").fill_null("")
    ),
    words="early-years return",
    sender="the early-years team",
    compact=("provider_urn",),
    # Funded-place returns are monthly (termly in some areas): a month-old return still says
    # where a child spends the day.
    max_age_days=45,
    always_delivered=False,
)

SOCIAL_CARE = SourceSpec(
    name="social_care",
    kind="register",
    required=("case_ref", "forename", "surname", "status", "status_since"),
    optional=(
        "dob", "gender", "nhs_number", "upn", "address_line1", "address_line2", "town", "postcode", "uprn", "team",
    ),
    enums={
        "status": (
            "early_help", "referral", "assessment", "child_in_need", "child_protection_plan",
            "looked_after", "pre_birth", "closed",
        ),
        "gender": GENDERS,
    },
    staged=_register_staged("case_ref", {
        "nhs_number": pl.String, "upn": pl.String, "status": pl.String, "status_since": pl.Date, "team": pl.String,
    }),
    key=("case_ref",),
    identifier="case_ref",
    id_parts=(("case_ref", "substitute_id"),),
    staging_table="staging.social_care_snapshots",
    date_column="snapshot_date",
    retention="register",
    link_types=("register_child", "police_child"),
    link_priority=2,
    child_label="social_care",
    agency=Agency(tag="social_care", column="social_care_team", label="Social care", order=4),
    detail=lambda: pl.concat_str(
        pl.lit("social care "), pl.col("case_ref"), pl.lit(" "), pl.col("status").fill_null("")
    ),
    words="children's social care",
    sender="children's social care",
    extras=("substitute_id",),
    always_delivered=False,
)

MASH_CONTACTS = SourceSpec(
    name="mash_contacts",
    kind="contacts",
    required=(
        "contact_id", "received_at", "updated_at", "contact_type", "anonymous", "caller_role",
        "concern_category", "level_recorded", "outcome",
    ),
    optional=(
        "caller_org", "child_forename", "child_surname", "child_dob", "child_age_years", "child_gender",
        "address_line1", "postcode", "level_stated", "summary",
    ),
    enums={
        "contact_type": ("consultation", "referral"),
        "anonymous": ("yes", "no"),
        "caller_role": (
            "childminder", "nursery", "school", "health_visitor", "gp", "midwife", "police", "housing",
            "family", "public", "other",
        ),
        "child_gender": GENDERS,
        "concern_category": (
            "domestic_abuse", "physical_injury", "neglect", "emotional", "sexual", "behaviour", "other",
        ),
        "level_stated": ("1", "2", "3", "4"),
        "level_recorded": ("1", "2", "3", "4"),
        "outcome": ("advice_given", "referral_made", "early_help_offered", "no_further_action", "pending"),
    },
    staged={
        "contact_id": pl.String,
        "received_at": pl.Datetime("us", "UTC"),
        "updated_at": pl.Datetime("us", "UTC"),
        "contact_type": pl.String, "anonymous": pl.String, "caller_role": pl.String, "caller_org": pl.String,
        "child_forename": pl.String, "child_surname": pl.String, "child_dob": pl.Date,
        "child_age_years": pl.Int64, "child_gender": pl.String,
        "address_line1": pl.String, "postcode": pl.String,
        "concern_category": pl.String, "level_stated": pl.String, "level_recorded": pl.String,
        "outcome": pl.String,
        # Free text from the caller: staged (restricted) and never copied into a mart.
        "summary": pl.String,
        **LINEAGE,
    },
    key=("contact_id",),
    identifier=None,
    id_parts=(("contact_id",),),
    staging_table="staging.mash_contact_versions",
    date_column="delivery_date",
    # Twelve months of contacts resurface on the list; police's period keeps them.
    retention="police",
    words="MASH contacts",
    sender="the MASH",
    compact=("caller_org",),
    latest_by="updated_at",
    records_query="current_contacts",
    always_delivered=False,
)

# In the order a night validates them: police first (persons are checked against the
# incidents that passed in the same delivery), then the registers, then the MASH's contacts.
REGISTRY: tuple[SourceSpec, ...] = (
    POLICE_INCIDENTS, POLICE_PERSONS, SCHOOL_CENSUS, HEALTH_REGISTER, EARLY_YEARS, SOCIAL_CARE, MASH_CONTACTS,
)
BY_NAME: dict[str, SourceSpec] = {s.name: s for s in REGISTRY}

SOURCES: tuple[str, ...] = tuple(s.name for s in REGISTRY)
POLICE_SOURCES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.kind == "police")
REGISTER_SOURCES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.kind == "register")
CONTACT_SOURCES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.kind == "contacts")


def spec(name: str) -> SourceSpec:
    """The spec of source ``name``; an unknown name raises rather than being guessed."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownSourceError(
            f"{name!r} is not a hearth source (known: {', '.join(SOURCES)}); add it to "
            "pipeline/sources.py REGISTRY (docs/sources.md)"
        ) from None


def linked_sources(link_type: LinkType) -> tuple[str, ...]:
    """The sources whose records take part in ``link_type``."""
    return tuple(s.name for s in REGISTRY if link_type in s.link_types)


def record_id(name: str) -> pl.Expr:
    """The record id expression of source ``name`` (raises for an unknown source)."""
    return spec(name).record_id()

