"""Standardise: comparison-ready names, dates, postcodes, addresses and identifiers.

Every function here is a polars expression builder or a pure frame function; nothing loops
over rows in Python. The few lookups that need Python (nickname table, phonetic keys) run
once per *distinct* value and are joined back, so their cost follows the size of the name
vocabulary, not the number of records.

Display values are kept as delivered (trimmed); the ``*_std`` columns are upper-case with
accents folded, and are what linkage compares.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import lru_cache

import jellyfish
import polars as pl

from pipeline import sources

logger = logging.getLogger(__name__)

Source = str  # a source name of the registry (pipeline/sources.py)

# British diminutives the US-centred `nicknames` table lacks or maps ambiguously. The
# canonical name is what comparison treats them as; ambiguity (Bella → Isabella/Arabella)
# is settled towards the commonest English birth name.
BRITISH_DIMINUTIVES: dict[str, str] = {
    "ALFIE": "ALFRED", "ALF": "ALFRED", "OLLIE": "OLIVER", "OLLY": "OLIVER",
    "FREDDIE": "FREDERICK", "FREDDY": "FREDERICK", "FRED": "FREDERICK",
    "ARCHIE": "ARCHIBALD", "BELLA": "ISABELLA", "IZZY": "ISABELLA", "ISSY": "ISABELLA",
    "EVIE": "EVELYN", "ELLIE": "ELEANOR", "ELLA": "ELEANOR", "HARRY": "HENRY",
    "CHARLIE": "CHARLES", "JAMIE": "JAMES", "JIM": "JAMES", "JIMMY": "JAMES",
    "BOBBY": "ROBERT", "BOB": "ROBERT", "ROB": "ROBERT", "ROBBIE": "ROBERT",
    "BILLY": "WILLIAM", "BILL": "WILLIAM", "WILL": "WILLIAM", "WILLS": "WILLIAM",
    "TOMMY": "THOMAS", "TOM": "THOMAS", "JACK": "JOHN", "JOHNNY": "JOHN",
    "DANNY": "DANIEL", "DAN": "DANIEL", "SAM": "SAMUEL", "SAMMY": "SAMUEL",
    "MATT": "MATTHEW", "JOE": "JOSEPH", "JOEY": "JOSEPH", "BEN": "BENJAMIN",
    "BENNY": "BENJAMIN", "TEDDY": "EDWARD", "TED": "EDWARD", "EDDIE": "EDWARD",
    "LIZZIE": "ELIZABETH", "LIZ": "ELIZABETH", "BETH": "ELIZABETH", "BETSY": "ELIZABETH",
    "KATIE": "KATHERINE", "KATE": "KATHERINE", "KAT": "KATHERINE", "KATHRYN": "KATHERINE",
    "CATHERINE": "KATHERINE", "MAISIE": "MARGARET", "MAGGIE": "MARGARET", "MEG": "MARGARET",
    "LOTTIE": "CHARLOTTE", "LOTTE": "CHARLOTTE", "MILLIE": "AMELIA", "MILLY": "AMELIA",
    "POPPY": "PENELOPE", "SOPH": "SOPHIE", "SOPHIA": "SOPHIE", "ABBIE": "ABIGAIL",
    "ABBY": "ABIGAIL", "GABBY": "GABRIELLE", "JESS": "JESSICA", "JESSIE": "JESSICA",
    "ROSIE": "ROSE", "GRACIE": "GRACE", "FRANKIE": "FRANCIS", "FRANK": "FRANCIS",
    "STEVE": "STEPHEN", "STEVEN": "STEPHEN", "MIKE": "MICHAEL", "MICKY": "MICHAEL",
    "NICK": "NICHOLAS", "NICKY": "NICHOLAS", "TONY": "ANTHONY", "ZAK": "ZACHARY",
    "ZACK": "ZACHARY", "ZACH": "ZACHARY", "TOBY": "TOBIAS", "THEO": "THEODORE",
    "SEB": "SEBASTIAN", "ALEX": "ALEXANDER", "LEXI": "ALEXANDRA", "LEXIE": "ALEXANDRA",
}

# Street-type words as written → the form used in address keys. Applied only to the last
# word of a street so that "St Andrews Road" keeps its Saint.
STREET_TYPES: dict[str, str] = {
    "ST": "STREET", "STR": "STREET", "RD": "ROAD", "AVE": "AVENUE", "AV": "AVENUE",
    "LN": "LANE", "DR": "DRIVE", "CL": "CLOSE", "CT": "COURT", "CRES": "CRESCENT",
    "CRS": "CRESCENT", "GDNS": "GARDENS", "GRN": "GREEN", "GR": "GROVE", "GRO": "GROVE",
    "PL": "PLACE", "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE", "PK": "PARK",
    "WY": "WAY", "HL": "HILL", "MDWS": "MEADOWS", "PDE": "PARADE", "RW": "ROW",
}

POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
PSEUDO_POSTCODE_PREFIX = "ZZ99"


# ---- names -------------------------------------------------------------------------------


def fold_name(expr: pl.Expr) -> pl.Expr:
    """Upper-case, accents folded, apostrophes/dots dropped, hyphens kept, spaces collapsed."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_all(r"['’`.]", "")
        .str.replace_all(r"[^A-Z\- ]", " ")
        .str.replace_all(r"\s*-\s*", "-")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" -")
        .replace("", None)
    )


def name_parts(expr: pl.Expr) -> pl.Expr:
    """Parts of a folded name: "SMITH-JONES" / "SMITH JONES" → ["SMITH", "JONES"]."""
    return expr.str.replace_all("-", " ").str.split(" ")


@lru_cache(maxsize=1)
def nickname_table() -> pl.DataFrame:
    """(name, canonical) rows: the `nicknames` package plus British diminutives.

    A name that is itself a canonical name maps to itself; an ambiguous nickname keeps every
    canonical it may stand for (comparison treats any shared canonical as a nickname match)
    but :func:`canonical_forename` picks one for display and blocking.
    """
    from nicknames import NickNamer

    pairs: set[tuple[str, str]] = set()
    for canonical, nicks in NickNamer()._nickname_lookup.items():
        pairs.add((canonical.upper(), canonical.upper()))
        for nick in nicks:
            pairs.add((nick.upper(), canonical.upper()))
    for nick, canonical in BRITISH_DIMINUTIVES.items():
        pairs.add((nick, canonical))
        pairs.add((canonical, canonical))
    return pl.DataFrame(sorted(pairs), schema={"name": pl.String, "canonical": pl.String}, orient="row")


@lru_cache(maxsize=1)
def _preferred_canonical() -> pl.DataFrame:
    table = nickname_table()
    british = pl.DataFrame(
        {"name": list(BRITISH_DIMINUTIVES), "preferred": list(BRITISH_DIMINUTIVES.values())}
    )
    # A canonical name stands for itself; otherwise the British table, else the
    # alphabetically first canonical (deterministic, if arbitrary, for US-only nicknames).
    is_canonical = table.filter(pl.col("name") == pl.col("canonical")).select(
        "name", preferred=pl.col("canonical")
    )
    first = table.group_by("name").agg(preferred=pl.col("canonical").min())
    return (
        pl.concat([british, is_canonical.filter(~pl.col("name").is_in(british["name"].implode())), first])
        .unique("name", keep="first", maintain_order=True)
    )


def canonical_forename(frame: pl.DataFrame, column: str, out: str) -> pl.DataFrame:
    """Add ``out``: the canonical given name of the folded first forename in ``column``."""
    first = pl.col(column).str.split(" ").list.first()
    return (
        frame.with_columns(_first_forename=first)
        .join(_preferred_canonical(), left_on="_first_forename", right_on="name", how="left")
        .with_columns(pl.coalesce("preferred", "_first_forename").alias(out))
        .drop("_first_forename", "preferred")
    )


@lru_cache(maxsize=1)
def nickname_pair_keys() -> frozenset[str]:
    """"NICK|CANONICAL" and "NICKA|NICKB" keys of every name pair that share a canonical."""
    table = nickname_table()
    shared = table.join(table, on="canonical").filter(pl.col("name") < pl.col("name_right"))
    keys = shared.select(pl.concat_str("name", "name_right", separator="|")).to_series()
    return frozenset(keys.to_list())


def phonetic_key(expr: pl.Expr) -> pl.Expr:
    """Metaphone of a folded name (letters only), for blocking. Computed once per distinct value."""
    letters = expr.str.replace_all(r"[^A-Z]", "")
    return letters.map_batches(_metaphone_series, return_dtype=pl.String)


def _metaphone_series(values: pl.Series) -> pl.Series:
    distinct = values.drop_nulls().unique()
    mapping = {v: (jellyfish.metaphone(v) or v) for v in distinct.to_list() if v}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


# ---- dates ---------------------------------------------------------------------------------


def swapped_dob(expr: pl.Expr) -> pl.Expr:
    """The date with day and month exchanged, or null when that is not a date or is the same."""
    valid = (expr.dt.day() <= 12) & (expr.dt.day() != expr.dt.month())
    # pl.date raises on an invalid month even in an unused branch, so guard its inputs too;
    # the day is clamped because 31 Jan → 1 31 would be "month 31". Feb 30 etc. → null.
    month = pl.when(valid).then(expr.dt.day()).otherwise(1)
    day = pl.when(valid).then(expr.dt.month()).otherwise(1)
    swapped = pl.date(expr.dt.year(), month, day)
    return pl.when(valid).then(swapped).otherwise(None)


# ---- postcodes -----------------------------------------------------------------------------


def normalise_postcode(expr: pl.Expr) -> pl.Expr:
    """"nr13qh" / "NR1  3QH" → "NR1 3QH"; anything not shaped like a postcode → null."""
    compact = expr.str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    spaced = pl.concat_str(compact.str.head(-3), pl.lit(" "), compact.str.tail(3))
    return pl.when(compact.str.contains(POSTCODE_PATTERN)).then(spaced).otherwise(None)


def is_pseudo_postcode(expr: pl.Expr) -> pl.Expr:
    """ZZ99 pseudo-postcodes (no fixed abode, abroad, unknown): never linked on, never a household."""
    return expr.str.to_uppercase().str.replace_all(r"\s", "").str.starts_with(PSEUDO_POSTCODE_PREFIX).fill_null(False)


def postcode_sector(expr: pl.Expr) -> pl.Expr:
    """"NR1 3QH" → "NR1 3" (of an already normalised postcode)."""
    return expr.str.head(-2)


def postcode_district(expr: pl.Expr) -> pl.Expr:
    """"NR1 3QH" → "NR1": the outward code (of an already normalised postcode)."""
    return expr.str.split(" ").list.first()


# ---- addresses -----------------------------------------------------------------------------

_FLAT = r"\b(?:FLAT|FLT|APARTMENT|APT|UNIT|ROOM)\s*([0-9]+[A-Z]?|[A-Z])\b"
_SLASH = r"^\s*([0-9]+[A-Z]?)\s*/\s*([0-9]+[A-Z]?)\b"


def address_columns(line1: pl.Expr, line2: pl.Expr) -> list[pl.Expr]:
    """Expressions for ``flat``, ``house_number``, ``street``, ``address_key``, ``address_display``.

    ``Flat 2, 10 High Street``, ``2/10 High St`` and ``10 High Street Flat 2`` all give the key
    ``2/10 HIGH STREET`` (flat/number street). A named house without a number keys on its
    first line.

    The expressions inline every intermediate step, so each repeats the parsing; on many
    rows use :func:`parse_addresses`, which evaluates each step once.
    """
    return _address_parts(line1, line2, lambda _name, expr: expr)


def parse_addresses(frame: pl.DataFrame, line1: str, line2: str | None) -> pl.DataFrame:
    """``frame`` with the columns of :func:`address_columns`, parsing each distinct
    ``(line1, line2)`` once and materialising each intermediate step once (the inlined
    expressions repeat the shared steps in every output column: several times slower)."""
    l2 = pl.col(line2) if line2 else pl.lit(None, pl.String)
    distinct = frame.select(_l1=pl.col(line1), _l2=l2).unique()
    steps: list[tuple[str, pl.Expr]] = []

    def step(name: str, expr: pl.Expr) -> pl.Expr:
        steps.append((name, expr))
        return pl.col(name)

    outputs = _address_parts(pl.col("_l1"), pl.col("_l2"), step)
    for name, expr in steps:
        distinct = distinct.with_columns(expr.alias(name))
    parsed = distinct.select("_l1", "_l2", *outputs)
    keyed = frame.with_columns(_l1=pl.col(line1), _l2=l2).drop([c for c in parsed.columns[2:] if c in frame.columns])
    return keyed.join(parsed, on=["_l1", "_l2"], how="left", nulls_equal=True, maintain_order="left").drop("_l1", "_l2")


def _address_parts(line1: pl.Expr, line2: pl.Expr, step: Callable[[str, pl.Expr], pl.Expr]) -> list[pl.Expr]:
    """The parsing behind :func:`address_columns`; ``step(name, expr)`` either returns
    ``expr`` (inline) or materialises it as column ``name`` (see :func:`parse_addresses`)."""
    text = step("_text", (
        pl.concat_str(line1.fill_null(""), pl.lit(", "), line2.fill_null(""))
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_all(r"['’.]", "")
        .str.replace_all(r"[^A-Z0-9/,]", " ")
        .str.replace_all(r"\s+", " ")
    ))
    flat_word = step("_flat_word", text.str.extract(_FLAT, 1))
    no_flat = step("_no_flat", text.str.replace(_FLAT, " "))
    slash_flat = step("_slash_flat", no_flat.str.extract(_SLASH, 1))
    slash_number = step("_slash_number", no_flat.str.extract(_SLASH, 2))
    rest = no_flat.str.replace(_SLASH, "$2 ").str.replace_all(r"\s*,\s*", ",")
    rest = step("_rest", rest.str.replace_all(r"^[, ]+|[, ]+$", "").str.replace_all(r",+", ","))
    number = step("_number", pl.coalesce(slash_number, rest.str.extract(r"\b([0-9]+[A-Z]?)\b", 1)))
    street_after_number = rest.str.extract(r"\b[0-9]+[A-Z]?\s+([^,0-9]+)", 1)
    first_segment = rest.str.extract(r"^([^,]+)", 1)
    street_raw = step("_street_raw", pl.coalesce(street_after_number, first_segment).str.strip_chars(" ,"))
    last = street_raw.str.extract(r"(\S+)$", 1)
    head = step("_head", street_raw.str.extract(r"^(.*\S)\s+\S+$", 1))
    last_full = step("_last_full", last.replace(STREET_TYPES))
    street = step("_street", (
        pl.when(head.is_null()).then(last_full).otherwise(pl.concat_str(head, pl.lit(" "), last_full))
    ).replace("", None))
    flat = step("_flat", pl.coalesce(flat_word, slash_flat))
    number_street = step("_number_street", pl.concat_str([number, street], separator=" ", ignore_nulls=True).replace("", None))
    key = pl.when(flat.is_not_null() & number_street.is_not_null()).then(
        pl.concat_str(flat, pl.lit("/"), number_street)
    ).otherwise(number_street)
    display = pl.concat_str(
        pl.when(flat.is_not_null()).then(pl.concat_str(pl.lit("Flat "), flat, pl.lit(", "))).otherwise(pl.lit("")),
        number_street.str.to_titlecase(),
    )
    return [
        flat.alias("flat"),
        number.alias("house_number"),
        street.alias("street"),
        key.alias("address_key"),
        pl.when(number_street.is_null()).then(None).otherwise(display).alias("address_display"),
    ]


def household_key(postcode: pl.Expr, address_key: pl.Expr, uprn: pl.Expr, pseudo: pl.Expr) -> pl.Expr:
    """"uprn:<uprn>", else "addr:<postcode>|<address key>"; null for ZZ99 or no usable address."""
    by_address = pl.when(postcode.is_not_null() & address_key.is_not_null()).then(
        pl.concat_str(pl.lit("addr:"), postcode, pl.lit("|"), address_key)
    )
    return (
        pl.when(pseudo)
        .then(None)
        .when(uprn.is_not_null())
        .then(pl.concat_str(pl.lit("uprn:"), uprn))
        .otherwise(by_address)
    )


def stable_id(prefix: str, expr: pl.Expr) -> pl.Expr:
    """prefix + first 12 hex of sha256(value): the same input gives the same id on every run."""
    return expr.map_batches(
        lambda s: pl.Series(
            [None if v is None else prefix + hashlib.sha256(v.encode()).hexdigest()[:12] for v in s.to_list()],
            dtype=pl.String,
        ),
        return_dtype=pl.String,
    )


# ---- whole records -------------------------------------------------------------------------


def record_id(source: Source) -> pl.Expr:
    """The record id linkage and audit know a staged row by.

    A register row staged without its identifier (unusable as delivered) is known by its
    ``substitute_id`` instead: "health_register:withheld-3fa2b1c4d5e6" is stable from one
    snapshot to the next and can never be mistaken for an NHS number or a UPN. The parts
    are the source's ``id_parts`` in the registry; a source not in it raises."""
    return sources.record_id(source)


def standardise_address(frame: pl.DataFrame) -> pl.DataFrame:
    """Add postcode, sector, ZZ99 flag, uprn (digits), parsed address and ``household_key``."""
    cols = frame.columns
    out = parse_addresses(frame, "address_line1", "address_line2" if "address_line2" in cols else None).with_columns(
        postcode_raw=pl.col("postcode"),
        postcode=normalise_postcode(pl.col("postcode")),
        postcode_pseudo=is_pseudo_postcode(pl.col("postcode")),
        uprn=pl.col("uprn").str.replace_all(r"\D", "").str.strip_chars_start("0").replace("", None),
    ).with_columns(
        postcode=pl.when(pl.col("postcode_pseudo")).then(None).otherwise(pl.col("postcode")),
        uprn=pl.when(pl.col("postcode_pseudo")).then(None).otherwise(pl.col("uprn")),
    )
    return out.with_columns(
        postcode_sector=postcode_sector(pl.col("postcode")),
        postcode_district=postcode_district(pl.col("postcode")),
        household_key=household_key(
            pl.col("postcode"), pl.col("address_key"), pl.col("uprn"), pl.col("postcode_pseudo")
        ),
    )


def standardise_people(frame: pl.DataFrame, *, source: Source) -> pl.DataFrame:
    """Comparison-ready columns for a STAGED register or police-person frame.

    Adds ``record_id``, ``source`` and: ``forename_std``, ``surname_std``, ``forename_canon``,
    ``surname_parts``, ``surname_meta``, ``surname_part_metas``, ``forename_meta``,
    ``forename_initial``, ``dob_swapped``, ``postcode`` (normalised; null for ZZ99),
    ``postcode_sector``, ``postcode_pseudo``, ``uprn``, ``flat``, ``house_number``, ``street``,
    ``address_key``, ``address_display``, ``household_key``. Identifier columns are cleaned
    (NHS number digits only, UPN upper-case).
    """
    out = frame
    if "nhs_number" in out.columns:
        out = out.with_columns(nhs_number=pl.col("nhs_number").str.replace_all(r"\D", "").replace("", None))
    if "upn" in out.columns:
        out = out.with_columns(upn=pl.col("upn").str.to_uppercase().str.replace_all(r"\s", ""))
    if "postcode" not in out.columns:
        out = out.with_columns(postcode=pl.lit(None, pl.String))
    if "uprn" not in out.columns:
        out = out.with_columns(uprn=pl.lit(None, pl.String))
    if "address_line1" not in out.columns:
        out = out.with_columns(address_line1=pl.lit(None, pl.String))
    if "dob" not in out.columns:
        out = out.with_columns(dob=pl.lit(None, pl.Date))
    if "gender" not in out.columns:
        out = out.with_columns(gender=pl.lit(None, pl.String))
    if sources.spec(source).is_register and "substitute_id" not in out.columns:
        out = out.with_columns(substitute_id=pl.lit(None, pl.String))
    out = out.with_columns(
        record_id=record_id(source),
        source=pl.lit(source),
        forename=pl.col("forename").str.strip_chars(),
        surname=pl.col("surname").str.strip_chars(),
        forename_std=fold_name(pl.col("forename")),
        surname_std=fold_name(pl.col("surname")),
        dob_swapped=swapped_dob(pl.col("dob")),
        gender=pl.col("gender").str.to_lowercase().replace({"u": None, "x": None}),
    )
    out = canonical_forename(out, "forename_std", "forename_canon")
    out = out.with_columns(
        surname_parts=name_parts(pl.col("surname_std")),
        surname_meta=phonetic_key(pl.col("surname_std")),
        forename_meta=phonetic_key(pl.col("forename_canon")),
        forename_initial=pl.col("forename_std").str.head(1),
    )
    return standardise_address(_with_part_metas(out))


def _with_part_metas(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``surname_part_metas``: the phonetic key of every surname part (for blocking)."""
    parts = (
        frame.select("record_id", "surname_parts")
        .with_row_index("_i")
        .explode("surname_parts")
        .with_columns(_m=phonetic_key(pl.col("surname_parts")))
        .group_by("_i", maintain_order=True)
        .agg(surname_part_metas=pl.col("_m").drop_nulls().unique(maintain_order=True))
        .sort("_i")
    )
    return frame.with_columns(surname_part_metas=parts["surname_part_metas"])
