"""How landing-contract text becomes typed values: one definition shared by the Great
Expectations checks (``pipeline.validate.expectations_custom``) and by staging (``pipeline.validate.checks``),
so that a value passes validation exactly when it can be staged.

All functions are vectorised polars expressions. The identifier checks follow
``python-stdnum``, which is the reference: the reasons given for a rejected identifier are
its exceptions, and ``valid_nhs_numbers``/``valid_upns`` restate its Modulus 11 and UPN
check-letter arithmetic over whole columns (tests hold them to stdnum's answer value for
value), because calling it once per row cost 2–3 s a night on a county's registers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
from stdnum import exceptions as stdnum_errors
from stdnum.gb import nhs, upn

from pipeline import schemas

LONDON = "Europe/London"

# GOV.UK Data Standards Catalogue postcode pattern, anchored, case-insensitive, any spacing;
# plus the NHS pseudo-postcodes ZZ99 nXX ("no fixed abode", "address not known"), which are
# valid on a register but mark a child who cannot form a household (standardise marks them).
POSTCODE_REGEX = (
    r"(?i)^\s*(?:GIR\s*0AA"
    r"|(?:[A-Z][0-9]{1,2}|[A-Z][A-HJ-Y][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z][A-HJ-Y][0-9][A-Z]?)"
    r"\s*[0-9][A-Z]{2}"
    r"|ZZ99\s*[0-9][A-Z]{2})\s*$"
)

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
# Text is first normalised to a "T" between date and time and "+00:00" for a trailing "Z".
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")
_OFFSET = r"[+-]\d{2}:?\d{2}$"


def missing_to_null(text: pl.Expr) -> pl.Expr:
    """Trim; the contract's missing literals (``""``, ``NULL``, ``N/A``, ``-``) become null."""
    trimmed = text.str.strip_chars()
    return pl.when(trimmed.is_in(list(schemas.MISSING_LITERALS))).then(None).otherwise(trimmed)


def landing_date(text: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` text as a date; null if it is neither a real date."""
    trimmed = text.str.strip_chars()
    return pl.coalesce([trimmed.str.to_date(fmt, strict=False) for fmt in _DATE_FORMATS])


def landing_datetime_utc(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text as a UTC datetime; without an offset it is Europe/London wall-clock time.

    An ambiguous local time (the hour repeated when the clocks go back) is read as the
    earlier, BST one; a local time that does not exist (skipped when the clocks go forward)
    is null, i.e. invalid.
    """
    norm = (
        text.str.strip_chars()
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"[Zz]$", "+00:00")
    )
    aware = pl.coalesce([norm.str.to_datetime(f, time_unit="us", time_zone="UTC", strict=False) for f in _AWARE_FORMATS])
    naive = (
        pl.coalesce([norm.str.to_datetime(f, time_unit="us", strict=False) for f in _NAIVE_FORMATS])
        .dt.replace_time_zone(LONDON, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return pl.when(norm.str.contains(_OFFSET)).then(aware).otherwise(naive)


def ambiguous_local_time(text: pl.Expr) -> pl.Expr:
    """True where text without an offset names a Europe/London wall-clock time that happened
    twice (the hour repeated when the clocks go back): its instant cannot be known."""
    norm = text.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
    naive = pl.coalesce([norm.str.to_datetime(f, time_unit="us", strict=False) for f in _NAIVE_FORMATS])
    earliest = naive.dt.replace_time_zone(LONDON, ambiguous="earliest", non_existent="null")
    latest = naive.dt.replace_time_zone(LONDON, ambiguous="latest", non_existent="null")
    has_offset = norm.str.contains(_OFFSET) | norm.str.contains(r"[Zz]$")
    return (~has_offset & (earliest != latest)).fill_null(False)


def london_date(utc: pl.Expr) -> pl.Expr:
    """The Europe/London calendar date of a UTC datetime."""
    return utc.dt.convert_time_zone(LONDON).dt.date()


def compact_nhs_number(text: pl.Expr) -> pl.Expr:
    """NHS number without the spaces partners put in it (``943 476 5919``)."""
    return text.str.replace_all(r"\s", "")


def nhs_number_problem(value: str) -> str | None:
    """Why an NHS number is invalid (None if valid). Rejects the 999 test range too."""
    try:
        number = nhs.validate(value)
    except stdnum_errors.InvalidLength:  # a subclass of InvalidFormat: catch it first
        return "does not have 10 digits"
    except stdnum_errors.InvalidFormat:
        return "is not all digits"
    except stdnum_errors.InvalidChecksum:
        return "fails the Modulus 11 check"
    except stdnum_errors.ValidationError:
        return "is not a valid NHS number"
    if number.startswith("999"):
        return "is in the 999 test range, not a real patient's number"
    return None


def upn_problem(value: str) -> str | None:
    """Why a UPN is invalid (None if valid)."""
    try:
        upn.validate(value)
    except stdnum_errors.InvalidLength:
        return "does not have 13 characters"
    except stdnum_errors.InvalidFormat:
        return "is not a letter, 11 digits and a final digit or letter"
    except stdnum_errors.InvalidComponent:
        return "has an unknown local authority number (characters 2–4)"
    except stdnum_errors.InvalidChecksum:
        return "fails the UPN check letter"
    except stdnum_errors.ValidationError:
        return "is not a valid UPN"
    return None


def is_valid_nhs_number(value: str) -> bool:
    return nhs_number_problem(value) is None


def is_valid_upn(value: str) -> bool:
    return upn_problem(value) is None


def _digit(text: pl.Expr, position: int) -> pl.Expr:
    return text.str.slice(position, 1).cast(pl.Int64, strict=False)


def valid_nhs_numbers(values: pl.Series) -> pl.Series:
    """``is_valid_nhs_number`` over a column (null stays null).

    Ten ASCII digits (the shape nearly every value has) are checked here: the weighted sum
    of the ten digits, weights 10 down to 1, is divisible by 11 (stdnum's ``checksum``) and
    the number is not in the 999 test range. Any other text goes to stdnum itself, so its
    rules on separators and odd characters apply unchanged."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    canonical = pl.col("v").str.contains(r"^[0-9]{10}$")
    checksum = pl.sum_horizontal([_digit(pl.col("v"), i) * (10 - i) for i in range(10)]) % 11
    fast = (checksum == 0) & ~pl.col("v").str.starts_with("999")
    return _checked(frame, canonical, fast, is_valid_nhs_number).alias(values.name)


def _checked(frame: pl.DataFrame, canonical: pl.Expr, fast: pl.Expr, reference: Callable[[str], bool]) -> pl.Series:
    """``fast`` where ``canonical``, the reference function on the (few) other non-null values."""
    marked = frame.with_row_index("_i").with_columns(
        _canonical=canonical.fill_null(False), ok=pl.when(canonical).then(fast.fill_null(False))
    )
    odd = marked.filter(~pl.col("_canonical") & pl.col("v").is_not_null())
    ok = marked["ok"]
    if odd.height:
        ok = ok.scatter(odd["_i"], [reference(v) for v in odd["v"].to_list()])
    return ok


# stdnum.gb.upn's check alphabet: letters without I, O and S, then the digits (a digit d is
# at index 23 + d). Its local authority numbers are taken from stdnum, which keeps them up to date.
_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"
_UPN_LA_NUMBERS = sorted(str(n) for n in upn._la_numbers)


def valid_upns(values: pl.Series) -> pl.Series:
    """``is_valid_upn`` over a column (null stays null).

    Thirteen ASCII capitals or digits are checked here as stdnum does: characters 2–12 are
    digits, the last is in the check alphabet, characters 2–4 are a known local authority
    number, and the check letter is the sum of the alphabet indices of characters 2–13,
    weighted 2 to 13, modulo 23. Any other text goes to stdnum itself."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    v = pl.col("v")
    canonical = v.str.contains(r"^[A-Z0-9]{13}$")
    index = {ch: i for i, ch in enumerate(_UPN_ALPHABET)}
    weighted = pl.sum_horizontal([
        v.str.slice(position, 1).replace_strict(index, default=None, return_dtype=pl.Int64) * (position + 1)
        for position in range(1, 13)
    ])
    check = pl.lit(_UPN_ALPHABET).str.slice((weighted % 23).cast(pl.Int64), 1)
    fast = (
        v.str.contains(r"^.[0-9]{11}[A-HJ-NP-RT-Z0-9]$")
        & v.str.slice(1, 3).is_in(_UPN_LA_NUMBERS)
        & (check.fill_null("") == v.str.slice(0, 1))
    )
    return _checked(frame, canonical, fast, is_valid_upn).alias(values.name)


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
