"""``standardize_frame``: every SPEC §2 standardizer applied to one mapped channel frame.

Speed: each column is standardized once per **distinct** value (``pd.factorize``) and the
results are spread back with one array take, never a per-row ``apply``. Columns where almost
every value is distinct (ids, phones, e-mails, amounts, timestamps, addresses) first go through
the whole-column fast paths of ``vectorized``; the scalar functions see only what those leave.

Output columns: the input's non-canonical columns untouched and first, then every canonical
field (all-missing when the input lacks it), then ``full_name_raw`` and ``id_number_raw`` (the
values exactly as read), then the derived fields. Column types:

- text and codes: object, ``str`` or None
- ``birth_date``, ``risk_assessed_on``, ``id_birth_date``: object, ``datetime.date`` or None
- ``source_updated_at``, ``last_txn_at``: ``datetime64[us]``, naive China time, NaT if missing
- amounts: ``float64`` (yuan, NaN if missing); ``birth_year``, ``txn_count_12m``: ``Int64``
- ``marketing_consent``, ``do_not_disturb``, ``name_is_partial``, ``id_valid``, ``id_masked``:
  nullable ``boolean``

Derivations: a missing ``birth_date`` and ``gender`` come from a valid or masked resident id
(not from one that fails its check), a missing or "U" ``gender`` also from a 先生/女士
honorific; ``birth_year`` from the birth date or a year-only birth date; ``full_name`` from
family + given name (Chinese: 张伟, latin: "Wei Zhang").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mdm.schema import (
    AMOUNT_FIELDS,
    BOOLEAN_FIELDS,
    CANONICAL_FIELDS,
    DATE_FIELDS,
    DATETIME_FIELDS,
    DERIVED_FIELDS,
    INTEGER_FIELDS,
)
from mdm.standardize import vectorized
from mdm.standardize.addresses import divisions_many
from mdm.standardize.amounts import parse_amount, parse_count, unit_factor
from mdm.standardize.codes import (
    NO_LIST_FLAG_WORDS,
    parse_bool,
    parse_gender,
    parse_id_type,
    parse_list_flag,
    parse_product_risk,
    parse_risk_level,
)
from mdm.standardize.dates import parse_birth_year, parse_date, parse_datetime, parse_year_only
from mdm.standardize.emails import normalize_email
from mdm.standardize.ids import (
    NormalizedId,
    expand_legacy_resident_id,
    legacy_resident_id,
    normalize_id,
)
from mdm.standardize.names import (
    NameKeys,
    clean_person_name,
    has_chinese,
    honorific_gender,
    name_keys_many,
    split_honorific,
)
from mdm.standardize.phones import to_e164
from mdm.standardize.text import clean_text, is_blank

NAME_FIELDS = ("full_name", "family_name", "given_name")
TEXT_FIELDS = (
    "address",
    "province",
    "city",
    "district",
    "postal_code",
    "occupation",
    "employer",
    "education",
    "products_held",
    "relationship_manager",
    "branch_code",
    "preferred_contact",
)
DIVISION_FIELDS = ("province", "city", "district")
CODE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "gender": parse_gender,
    "id_type": parse_id_type,
    "mobile": to_e164,
    "phone_other": to_e164,
    "email": lambda value: normalize_email(value).address,
    "risk_level": parse_risk_level,
    "product_risk_max": parse_product_risk,
    "list_flag": parse_list_flag,
}
RAW_KEPT_FIELDS = ("full_name", "id_number")
OUTPUT_COLUMNS: tuple[str, ...] = (
    CANONICAL_FIELDS + tuple(f"{field}_raw" for field in RAW_KEPT_FIELDS) + DERIVED_FIELDS
)

FastPath = Callable[[pa.Array], vectorized.Handled]
_FAST_PATHS: dict[str, FastPath] = {
    **dict.fromkeys(NAME_FIELDS, vectorized.clean_person_names),
    **dict.fromkeys(TEXT_FIELDS, vectorized.clean_texts),
    "mobile": vectorized.cn_mobiles,
    "phone_other": vectorized.cn_mobiles,
    "email": vectorized.emails,
}
_DTYPES: dict[str, str] = {
    **dict.fromkeys(AMOUNT_FIELDS, "float64"),
    **dict.fromkeys(DATETIME_FIELDS, "datetime64[us]"),
    **dict.fromkeys(INTEGER_FIELDS, "Int64"),
    **dict.fromkeys(BOOLEAN_FIELDS + ("name_is_partial", "id_valid", "id_masked"), "boolean"),
}
# Nearly every value of these differs, so factorizing first would only add work: their fast
# path runs over the rows and the parser sees the rows it left.
_ROW_WISE = frozenset(AMOUNT_FIELDS + DATETIME_FIELDS + ("mobile", "phone_other", "email"))
# Columns whose per-value results are held in a typed numpy array rather than objects.
_NUMPY_DTYPES: dict[str, str] = {
    **dict.fromkeys(AMOUNT_FIELDS, "float64"),
    **dict.fromkeys(DATETIME_FIELDS, "datetime64[us]"),
}
_MISSING: dict[str, Any] = {
    "object": None,
    "float64": np.nan,
    "datetime64[us]": np.datetime64("NaT"),
}
_NAME_KEY_COLUMNS = ("name_key", "name_pinyin", "name_pinyin_sorted", "name_is_partial")
_ID_COLUMNS: dict[str, str] = {  # output column: NormalizedId attribute
    "id_number": "number",
    "id_valid": "valid",
    "id_masked": "masked",
    "id_birth_date": "birth_date",
    "id_gender": "gender",
}


def map_unique(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``fn`` applied once per distinct non-null value of ``series``, spread back to every row
    (object dtype, same index; None where the input is null)."""
    return pd.Series(_Distinct.of(series, fn).rows(), index=series.index, dtype=object)


def standardize_frame(
    mapped: pd.DataFrame,
    *,
    formats: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Standardize a frame whose columns are canonical field names holding raw values.

    Rows are never dropped or reordered and the index is kept. ``formats`` maps date and
    timestamp fields to strptime patterns and ``units`` maps amount fields to yuan/wan/yi
    (channel config); a key for another field, or an unknown unit, is a ValueError naming it.
    """
    formats = _checked_option(formats, DATE_FIELDS + DATETIME_FIELDS, "formats")
    units = _checked_option(units, AMOUNT_FIELDS, "units")
    std = _Standardizer(mapped)

    for field in NAME_FIELDS:
        std.parse(field, clean_person_name)
    for field in TEXT_FIELDS:
        std.parse(field, clean_text)
    _fill_divisions(std)
    for field, parser in CODE_PARSERS.items():
        absent = NO_LIST_FLAG_WORDS if field == "list_flag" else frozenset()
        std.parse(field, parser, absent_words=absent)
    for field in DATETIME_FIELDS:
        fmt = formats.get(field)
        # An explicit format may read ISO-looking text differently, so it disables the fast path.
        fast = vectorized.iso_datetimes if fmt is None else None
        std.parse(field, partial(parse_datetime, fmt=fmt), fast=fast)
    fmt = formats.get("risk_assessed_on")
    std.parse(
        "risk_assessed_on",
        partial(parse_date, fmt=fmt),
        fast=vectorized.common_dates if fmt is None else None,
    )
    for field in AMOUNT_FIELDS:
        unit = units.get(field, "yuan")
        try:
            factor = unit_factor(unit)
        except ValueError as error:
            raise ValueError(f"units: {field}: {error}") from None
        # Scaled units are multiplied exactly in Decimal by parse_amount; only yuan is vectorized.
        fast = vectorized.yuan_amounts if factor == 1 else None
        std.parse(field, partial(parse_amount, unit=unit), fast=fast)
    std.parse("txn_count_12m", parse_count)
    std.parse("birth_year", parse_birth_year)
    for field in BOOLEAN_FIELDS:
        std.parse(field, parse_bool)

    _standardize_birth_date(std, formats.get("birth_date"))
    id_trusted = _standardize_id(std)
    _fill_birth_from_id(std, id_trusted)
    _compose_full_name(std)
    name_is_partial = _derive_name_keys(std)
    _fill_gender(std, id_trusted, name_is_partial)
    return std.assemble()


@dataclass(frozen=True)
class _Distinct:
    """Results per distinct value of a column and, per row, which distinct value it holds."""

    codes: np.ndarray  # per row: position in results; -1 (the trailing missing) for nulls
    results: np.ndarray  # one per distinct value, plus a trailing missing value
    failed: np.ndarray  # bool, aligned with results: a non-blank value that did not parse

    @classmethod
    def of(
        cls,
        series: pd.Series,
        fn: Callable[[Any], Any],
        *,
        fast: FastPath | None = None,
        skip_blank: bool = False,
        absent_words: frozenset[str] = frozenset(),
        dtype: str = "object",
    ) -> _Distinct:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        # A plain list iterates several times faster than an Arrow-backed array.
        values = uniques.tolist()
        results = np.full(len(values) + 1, _MISSING[dtype], dtype=dtype)
        failed = np.zeros(len(values) + 1, dtype=bool)
        pending = _fast_pass(values, fast, results) if fast is not None else range(len(values))
        for position in pending:
            value = values[position]
            if skip_blank and is_blank(value):
                continue
            result = fn(value)
            if result is not None:
                results[position] = result
            elif skip_blank:
                failed[position] = (clean_text(value) or "").lower() not in absent_words
        return cls(codes, results, failed)

    @classmethod
    def of_many(cls, series: pd.Series, fn: Callable[[list[Any]], list[Any]]) -> _Distinct:
        """Like ``of`` for a function that takes all distinct values at once."""
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        results = np.full(len(uniques) + 1, None, dtype=object)
        results[:-1] = _object_array(fn(uniques.tolist()))
        return cls(codes, results, np.zeros(len(results), dtype=bool))

    def rows(self) -> np.ndarray:
        return self.results[self.codes]

    def failed_rows(self) -> np.ndarray:
        return self.failed[self.codes]

    def tuple_rows(self, width: int) -> list[np.ndarray]:
        """Rows of each position of tuple results (all results must be tuples of ``width``)."""
        per_value = zip(*self.results[:-1], strict=True) if len(self.results) > 1 else [()] * width
        return [_object_array([*part, None])[self.codes] for part in per_value]

    def attribute_rows(self, getter: Callable[[Any], Any]) -> np.ndarray:
        per_value = np.fromiter(
            (None if result is None else getter(result) for result in self.results),
            dtype=object,
            count=len(self.results),
        )
        return per_value[self.codes]


def _fast_pass(values: list[Any], fast: FastPath, results: np.ndarray) -> Iterable[int]:
    """Put the fast path's results for the text values into ``results``; returns the
    positions of the values still to parse."""
    # Spreadsheet columns mix text with numbers and dates: only the text goes the fast way.
    is_text = np.fromiter((type(value) is str for value in values), dtype=bool, count=len(values))
    text_positions = np.flatnonzero(is_text)
    texts = values if is_text.all() else [values[i] for i in text_positions]
    strings = vectorized.arrow_strings(texts) if texts else None
    if strings is None:
        return range(len(values))
    handled = fast(strings)
    produced = np.asarray(texts, dtype=object) if handled.values is None else handled.values
    results[text_positions[handled.mask]] = produced[handled.mask]
    remaining = np.ones(len(values), dtype=bool)
    remaining[text_positions[handled.mask]] = False
    return np.flatnonzero(remaining).tolist()


class _Standardizer:
    """The standardized columns (row-aligned arrays) being built for one frame."""

    def __init__(self, mapped: pd.DataFrame) -> None:
        self.mapped = mapped
        self.size = len(mapped)
        self.columns: dict[str, np.ndarray] = {}
        self.unparsed: dict[str, np.ndarray] = {}

    def raw(self, field: str) -> pd.Series | None:
        return self.mapped[field] if field in self.mapped.columns else None

    def missing(self) -> np.ndarray:
        return np.full(self.size, None, dtype=object)

    def parse(
        self,
        field: str,
        parser: Callable[[Any], Any],
        *,
        fast: FastPath | None = None,
        absent_words: frozenset[str] = frozenset(),
    ) -> _Distinct | None:
        """Standardize a field: the fast path (if any), then the parser for what it left.

        Returns the per-distinct-value results, except for fields handled row-wise."""
        raw = self.raw(field)
        if raw is None:
            self.columns[field] = self.missing()
            return None
        fast = fast or _FAST_PATHS.get(field)
        dtype = _NUMPY_DTYPES.get(field, "object")
        strings = vectorized.arrow_strings(raw) if fast and field in _ROW_WISE else None
        if fast is not None and strings is not None:
            handled = fast(strings)
            assert handled.values is not None, "row-wise fast paths produce their values"
            values, rest = handled.values, ~handled.mask
            failed = np.zeros(self.size, dtype=bool)
            if rest.any():
                distinct = _Distinct.of(
                    raw[rest], parser, skip_blank=True, absent_words=absent_words, dtype=dtype
                )
                values[rest] = distinct.rows()
                failed[rest] = distinct.failed_rows()
            self.columns[field] = values
            self.unparsed[field] = failed
            return None
        distinct = _Distinct.of(
            raw, parser, fast=fast, skip_blank=True, absent_words=absent_words, dtype=dtype
        )
        self.columns[field] = distinct.rows()
        self.unparsed[field] = distinct.failed_rows()
        return distinct

    def fill(self, field: str, values: np.ndarray, where: np.ndarray | None = None) -> None:
        """Fill the field's missing rows (within ``where``) from ``values``."""
        column = self.columns[field]
        take = pd.isna(column) & ~pd.isna(values)
        if where is not None:
            take &= where
        column[take] = values[take]

    def assemble(self) -> pd.DataFrame:
        index = self.mapped.index
        for field in RAW_KEPT_FIELDS:
            raw = self.raw(field)
            self.columns[f"{field}_raw"] = (
                raw.to_numpy(dtype=object) if raw is not None else (self.missing())
            )
        self.columns["unparsed_fields"] = _unparsed_lists(self.unparsed, self.size)
        standardized = pd.DataFrame(
            {
                name: _series(self.columns[name], _DTYPES.get(name), index)
                for name in OUTPUT_COLUMNS
            },
            index=index,
            copy=False,
        )
        passthrough = [c for c in self.mapped.columns if c not in OUTPUT_COLUMNS]
        return pd.concat([self.mapped[passthrough], standardized], axis=1)


def _fill_divisions(std: _Standardizer) -> None:
    """Missing province, city and district from a Chinese full address, where the divisions
    the record does state agree with the address (the same two first characters)."""
    address = std.columns["address"]
    stated = [std.columns[field] for field in DIVISION_FIELDS]
    rows = np.flatnonzero(pd.notna(address) & np.logical_or.reduce([pd.isna(s) for s in stated]))
    if not len(rows):
        return
    texts = pa.array(address[rows].tolist(), pa.large_string())
    chinese = np.asarray(pc.match_substring_regex(texts, "[\u4e00-\u9fff]"), dtype=bool)
    rows = rows[chinese]
    if not len(rows):
        return
    found = divisions_many(pc.filter(texts, pa.array(chinese)))
    agreeing = np.ones(len(rows), dtype=bool)
    # Most records state none of the three: only those that state some need comparing.
    for at in np.flatnonzero(np.logical_or.reduce([pd.notna(s[rows]) for s in stated])):
        pairs = [
            (given[rows[at]], division[at]) for given, division in zip(stated, found, strict=True)
        ]
        agreeing[at] = all(g is None or d is None or g[:2] == d[:2] for g, d in pairs)
    where = np.zeros(std.size, dtype=bool)
    where[rows[agreeing]] = True
    for field, division in zip(DIVISION_FIELDS, found, strict=True):
        values = std.missing()
        values[rows] = division
        std.fill(field, values, where)


def _standardize_birth_date(std: _Standardizer, fmt: str | None) -> None:
    # A year-only birth date (1985, 1985年) is a birth year, not an unparseable date: the
    # parser returns the date, or the year as an int, and the two are split here.
    def date_or_year(value: Any) -> dt.date | int | None:
        year = parse_year_only(value)
        return year if year is not None else parse_date(value, fmt)

    distinct = std.parse(
        "birth_date", date_or_year, fast=vectorized.common_dates if fmt is None else None
    )
    if distinct is not None:
        std.columns["birth_date"] = distinct.attribute_rows(_unless_year)
        std.fill("birth_year", distinct.attribute_rows(_only_year))


def _only_year(parsed: dt.date | int) -> int | None:
    return parsed if isinstance(parsed, int) else None


def _unless_year(parsed: dt.date | int) -> dt.date | None:
    return None if isinstance(parsed, int) else parsed


def _standardize_id(std: _Standardizer) -> np.ndarray:
    """Normalize id_number (by its stated id type); returns the rows whose id is valid or
    masked, the only ids trusted to fill a missing birth date or gender (a failed check digit
    puts the whole number in doubt)."""
    ids = {name: std.missing() for name in NormalizedId._fields}
    raw = std.raw("id_number")
    if raw is not None:
        stated_types = std.columns["id_type"]
        pending = _resident_ids_fast(raw, stated_types, ids)
        for id_type in pd.unique(pd.Series(stated_types[pending], dtype=object)):
            of_type = pending & (
                pd.isna(stated_types) if id_type is None else np.equal(stated_types, id_type)
            )
            distinct = _Distinct.of(raw[of_type], partial(_id_or_none, id_type), skip_blank=True)
            for name in NormalizedId._fields:
                ids[name][of_type] = distinct.attribute_rows(attrgetter(name))
        _check_legacy_ids(std, raw, ids)
        # The type stays as stated when the number is blank; CN_RID may have been inferred.
        std.fill("id_type", ids["id_type"])
    for column, attribute in _ID_COLUMNS.items():
        std.columns[column] = ids[attribute]
    return np.equal(ids["valid"], True) | np.equal(ids["masked"], True)


def _resident_ids_fast(
    raw: pd.Series, stated_types: np.ndarray, ids: dict[str, np.ndarray]
) -> np.ndarray:
    """Fill ``ids`` for plain 18-character resident IDs (typed CN_RID or untyped); returns
    the rows still to normalize."""
    strings = vectorized.arrow_strings(raw)
    may_be_resident = pd.isna(stated_types) | np.equal(stated_types, "CN_RID")
    if strings is None or not may_be_resident.any():
        return np.ones(len(raw), dtype=bool)
    fast = vectorized.resident_ids(strings)
    done = fast.mask & may_be_resident
    ids["id_type"][done] = "CN_RID"
    ids["masked"][done] = False
    for name in ("number", "valid", "birth_date", "gender"):
        ids[name][done] = getattr(fast, name)[done]
    return ~done


def _check_legacy_ids(std: _Standardizer, raw: pd.Series, ids: dict[str, np.ndarray]) -> None:
    """A legacy 15-digit resident ID lacks the century of its birth date: the record's stated
    birth date gives it (20 for someone born in 2001). When the stated date contradicts the ID's
    day, the 18-digit form is only a guess and may be another person's number, so it is not
    valid (the birth-date check then flags the record) and cannot veto a merge."""
    candidates = np.equal(ids["id_type"], "CN_RID") & np.equal(ids["masked"], False)
    stated = std.columns["birth_date"]
    candidates &= pd.notna(stated)
    if not candidates.any():
        return
    legacy = map_unique(raw[candidates], legacy_resident_id).to_numpy()
    rows = np.flatnonzero(candidates)[pd.notna(legacy)]
    for row, number15 in zip(rows, legacy[pd.notna(legacy)], strict=True):
        born: dt.date = stated[row]
        if born.strftime("%y%m%d") != number15[6:12]:
            ids["valid"][row] = False
        elif born.year // 100 != 19:
            expanded = expand_legacy_resident_id(number15, born.year // 100)
            for name in NormalizedId._fields:
                ids[name][row] = getattr(expanded, name)


def _id_or_none(id_type: str | None, value: Any) -> NormalizedId | None:
    normalized = normalize_id(id_type, value)
    return normalized if normalized.number is not None else None


def _fill_birth_from_id(std: _Standardizer, id_trusted: np.ndarray) -> None:
    std.fill("birth_date", std.columns["id_birth_date"], id_trusted)
    years = std.columns["birth_year"]
    dates = std.columns["birth_date"]
    take = pd.isna(years) & pd.notna(dates)
    years[take] = [date.year for date in dates[take]]


def _compose_full_name(std: _Standardizer) -> None:
    family = pd.Series(std.columns["family_name"], dtype=object)
    given = pd.Series(std.columns["given_name"], dtype=object)
    wanted = pd.isna(std.columns["full_name"]) & (family.notna() | given.notna()).to_numpy()
    if not wanted.any():
        return
    composed = [_composed_name(f, g) for f, g in zip(family[wanted], given[wanted], strict=True)]
    std.columns["full_name"][wanted] = composed


def _composed_name(family: str | None, given: str | None) -> str:
    parts = [part for part in (family, given) if part]
    if any(has_chinese(part) for part in parts):
        return "".join(parts)  # 张 + 伟 → 张伟
    return " ".join(reversed(parts))  # Zhang + Wei → "Wei Zhang", as latin names are written


def _derive_name_keys(std: _Standardizer) -> np.ndarray:
    """Fill the name-key columns; returns which rows hold partial (王先生-style) names."""
    names = std.columns["full_name"]
    keys = {field: std.missing() for field in _NAME_KEY_COLUMNS}
    pending = np.ones(std.size, dtype=bool)
    strings = vectorized.arrow_strings(names)
    if strings is not None:
        fast = vectorized.plain_chinese_name_keys(strings)
        for field in _NAME_KEY_COLUMNS[:3]:
            keys[field][fast.mask] = getattr(fast, field)[fast.mask]
        keys["name_is_partial"][fast.mask] = False
        pending = ~fast.mask
    if pending.any():
        distinct = _Distinct.of_many(pd.Series(names[pending], dtype=object), name_keys_many)
        key_rows = distinct.tuple_rows(len(NameKeys._fields))
        for field, rows in zip(_NAME_KEY_COLUMNS, key_rows, strict=True):
            keys[field][pending] = rows
    std.columns.update(keys)
    return np.equal(keys["name_is_partial"], True)


def _fill_gender(std: _Standardizer, id_trusted: np.ndarray, name_is_partial: np.ndarray) -> None:
    """Stated M/F wins; then the id; then the honorific of a 王先生-style caller. A stated
    "unknown" stays U only when none of them knows better."""
    gender = std.columns["gender"]
    stated_unknown = np.equal(gender, "U")
    gender[stated_unknown] = None
    std.fill("gender", std.columns["id_gender"], id_trusted)
    ask_honorific = pd.isna(gender) & name_is_partial
    if ask_honorific.any():
        names = pd.Series(std.columns["full_name"][ask_honorific], dtype=object)
        gender[ask_honorific] = map_unique(names, _honorific_gender).to_numpy()
    gender[pd.isna(gender) & stated_unknown] = "U"


def _honorific_gender(name: Any) -> str | None:
    split = split_honorific(name)
    return None if split is None else honorific_gender(split[1])


def _unparsed_lists(unparsed: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    lists = np.full(size, "", dtype=object)
    for field in CANONICAL_FIELDS:
        failed = unparsed.get(field)
        if failed is not None and failed.any():
            lists[failed] = lists[failed] + (" " + field)
    any_failed = lists != ""
    result = np.full(size, None, dtype=object)
    result[any_failed] = [names[1:] for names in lists[any_failed]]
    return result


def _checked_option(
    option: Mapping[str, str] | None, allowed: Iterable[str], name: str
) -> dict[str, str]:
    checked = dict(option or {})
    unknown = sorted(set(checked) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: not applicable to field(s) {', '.join(unknown)}")
    return checked


def _series(values: np.ndarray, dtype: str | None, index: pd.Index) -> pd.Series:
    # dtype=object stops pandas from re-inferring (and converting) every text column.
    if dtype is None:
        return pd.Series(values, index=index, dtype=object, copy=False)
    if values.dtype == object and pd.isna(values).all():
        return pd.Series(index=index, dtype=dtype)  # much cheaper than converting Nones
    return pd.Series(values, index=index, dtype=dtype, copy=False)


def _object_array(items: list[Any]) -> np.ndarray:
    # np.array would turn a list of tuples into a 2-D array; fromiter keeps one object each.
    return np.fromiter(items, dtype=object, count=len(items))
