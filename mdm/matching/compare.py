"""Comparison vectors: one discrete level per comparison for each record pair.

Levels are grouped by mode (what the two records give to compare) and run from least to most
similar within it; -1 is the null level (a side lacks the value), which carries no weight.
Equality is decided on integer codes; fuzzy scores run only on the pairs that still need them,
element-wise at C speed through ``rapidfuzz.process.cpdist``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from rapidfuzz import distance, fuzz, process

from mdm.matching import latin
from mdm.matching.features import NO_DATE, Codes, Features

NULL = -1

# A level's code is its position in the flattened order. The model weighs a level against the
# others of its mode only: a pinyin-only third-party name can never be an exact character match,
# so "the names agree" must be judged among romanized pairs.
COMPARISON_MODES: dict[str, dict[str, tuple[str, ...]]] = {
    "name": {
        "same_script": (
            "different",
            "char_similar",  # at least two thirds of the characters agree
            "pinyin_exact",  # homophones (input-method typos), either order of latin names
            "exact",
        ),
        "romanized": (  # one name only in pinyin/latin, the other in characters
            "romanized_different",
            "romanized_similar",  # pinyin within Jaro-Winkler 0.9
            "romanized_exact",
        ),
        "partial": ("surname_different", "surname_only"),  # a 王先生-style side
        # Latin names with a given and a family part on both sides, compared apart and crossed
        # (a swapped order counts as the straight one).
        "latin": (
            "latin_different",
            "latin_family_only",  # family names agree, given names do not
            "latin_initial",  # family agrees, one given name is the other's initial
            "latin_similar",  # both parts agree by Jaro-Winkler, sound or nickname
            "latin_exact",
        ),
    },
    "id": {
        "unmasked": (
            "conflict",  # two different valid resident ids: hard evidence of two people
            "different",
            "typo",  # one substitution or transposition, a side failing its check digit
            "exact",
        ),
        "masked": ("masked_different", "masked_compatible"),  # visible first 6 + last 4
    },
    "birth_date": {
        "date": ("different", "same_year", "day_month_swapped", "exact"),
        "year": ("year_different", "year_agrees"),  # a side knows only the year
    },
    "mobile": {"mobile": ("different", "one_edit", "exact")},
    "email": {"email": ("different", "exact")},
    "gender": {"gender": ("disagree", "agree")},
    "address": {
        "address": ("different", "same_city", "fuzzy", "exact"),
        "city": ("city_different", "city_agrees"),  # an address missing: cities compared
    },
}
COMPARISONS: dict[str, tuple[str, ...]] = {
    name: tuple(lv for levels in modes.values() for lv in levels)
    for name, modes in COMPARISON_MODES.items()
}
LEVEL_MODES: dict[str, np.ndarray] = {
    name: np.repeat(np.arange(len(modes)), [len(levels) for levels in modes.values()])
    for name, modes in COMPARISON_MODES.items()
}
NAME_SIMILAR = 2 / 3  # a 3-character name with one character wrong still qualifies
PINYIN_SIMILAR = 0.9
ADDRESS_SIMILAR = 85.0
LATIN_SIMILAR = 0.92  # Jaro-Winkler of a given or family name: Jon/John, Schmidt/Schmitt;
# one edit also counts from four letters (Jirdan/Jordan scores 0.89)


def level(comparison: str, name: str) -> int:
    return COMPARISONS[comparison].index(name)


def _scores(scorer: Callable[..., float], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if len(left) == 0:
        return np.empty(0, dtype=np.float64)
    return np.asarray(
        process.cpdist(list(left), list(right), scorer=scorer, workers=-1), dtype=np.float64
    )


def _equal(codes: Codes, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(both present, equal) masks for a factorized key."""
    a, b = codes.codes[left], codes.codes[right]
    both = (a >= 0) & (b >= 0)
    return both, both & (a == b)


def _one_edit(codes: Codes, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """At most one substitution, insertion, deletion or adjacent transposition apart (OSA
    distance: the same as Damerau-Levenshtein at distance 1, and twice as fast)."""
    return _scores(distance.OSA.distance, codes.take(left), codes.take(right)) <= 1


def _surnames_agree(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Does a token at either end of one pinyin name equal one at either end of the other?

    A 王先生 record's pinyin is its surname alone; the other name gives its surname first
    (characters) or possibly last (latin order), so both ends are tried. Homophone surnames
    (汪/王) agree, as a call-center agent writes what was heard.
    """
    ends_l = (f.surname.codes[left], f.last_token.codes[left])
    ends_r = (f.surname.codes[right], f.last_token.codes[right])
    agree = np.zeros(len(left), dtype=bool)
    for a in ends_l:
        for b in ends_r:
            agree |= (a >= 0) & (a == b)
    return agree


def _part_agrees(
    f: Features,
    left_part: str,
    right_part: str,
    left: np.ndarray,
    right: np.ndarray,
    family_agrees: np.ndarray | None = None,
    similar_at: float = LATIN_SIMILAR,
) -> tuple[np.ndarray, np.ndarray]:
    """(exact, similar) of one name part of the left records against one of the right: similar
    is Jaro-Winkler >= ``similar_at``, the same sound, or (two given names) a nickname."""
    a = getattr(f, left_part).take(left)
    b = getattr(f, right_part).take(right)
    sound_a = getattr(f, f"{left_part}_sound").take(left)
    sound_b = getattr(f, f"{right_part}_sound").take(right)
    exact = (a == b) & (a != "")
    similar = exact | (_scores(distance.JaroWinkler.normalized_similarity, a, b) >= similar_at)
    similar |= (_scores(distance.OSA.distance, a, b) <= 1) & (np.char.str_len(a.astype(str)) >= 4)
    similar |= (sound_a == sound_b) & (sound_a != "")
    if left_part == right_part == "given":
        # Python per pair, so only where the family names agree and nothing else did.
        wanted = ~similar if family_agrees is None else ~similar & family_agrees
        idx = np.flatnonzero(wanted)
        similar[idx] = np.fromiter(map(latin.nickname_of, a[idx], b[idx]), bool, len(idx))
    return exact, similar


def _initial(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One side is a single letter that starts the other."""
    short = np.frompyfunc(lambda x, y: len(x) == 1 and y.startswith(x), 2, 1)
    return (short(a, b) | short(b, a)).astype(bool)


def compare_latin(
    f: Features, left: np.ndarray, right: np.ndarray, *, latin_similar: float = LATIN_SIMILAR
) -> np.ndarray:
    """Latin-mode levels for pairs that both have given and family parts."""
    out = np.full(len(left), level("name", "latin_different"), dtype=np.int8)
    if len(left) == 0:
        return out
    at = latin_similar
    straight_family = _part_agrees(f, "family", "family", left, right, similar_at=at)
    family_ok = straight_family[1]
    straight_given = _part_agrees(f, "given", "given", left, right, family_ok, similar_at=at)
    cross_gf = _part_agrees(f, "given", "family", left, right, similar_at=at)
    cross_fg = _part_agrees(f, "family", "given", left, right, similar_at=at)
    out[family_ok] = level("name", "latin_family_only")
    idx = np.flatnonzero(family_ok)
    initial = _initial(f.given.take(left[idx]), f.given.take(right[idx]))
    out[idx[initial]] = level("name", "latin_initial")
    similar = (family_ok & straight_given[1]) | (cross_gf[1] & cross_fg[1])
    out[similar] = level("name", "latin_similar")
    exact = (straight_family[0] & straight_given[0]) | (cross_gf[0] & cross_fg[0])
    out[exact] = level("name", "latin_exact")
    return out


def compare_name(
    f: Features,
    left: np.ndarray,
    right: np.ndarray,
    *,
    char_similar: float = NAME_SIMILAR,
    romanized_similar: float = PINYIN_SIMILAR,
    latin_similar: float = LATIN_SIMILAR,
) -> np.ndarray:
    both, exact = _equal(f.name, left, right)
    _, pinyin_exact = _equal(f.pinyin, left, right)
    either_partial = both & (f.partial[left] | f.partial[right])
    whole = both & ~either_partial
    same_script = whole & (f.hanzi[left] == f.hanzi[right])
    romanized = whole & ~same_script
    out = np.full(len(left), NULL, dtype=np.int8)

    out[same_script] = level("name", "different")
    idx = np.flatnonzero(same_script & ~exact & ~pinyin_exact)
    similar = _scores(
        distance.Levenshtein.normalized_similarity, f.name.take(left[idx]), f.name.take(right[idx])
    )
    out[idx[similar >= char_similar - 1e-9]] = level("name", "char_similar")
    out[same_script & pinyin_exact] = level("name", "pinyin_exact")
    out[same_script & exact] = level("name", "exact")

    out[romanized] = level("name", "romanized_different")
    idx = np.flatnonzero(romanized & ~pinyin_exact)
    similar = _scores(
        distance.JaroWinkler.normalized_similarity,
        f.pinyin.take(left[idx]),
        f.pinyin.take(right[idx]),
    )
    out[idx[similar >= romanized_similar]] = level("name", "romanized_similar")
    out[romanized & pinyin_exact] = level("name", "romanized_exact")

    out[either_partial] = level("name", "surname_different")
    idx = np.flatnonzero(either_partial)
    out[idx[_surnames_agree(f, left[idx], right[idx])]] = level("name", "surname_only")

    parts = (f.given.codes >= 0) & (f.family.codes >= 0)
    idx = np.flatnonzero(whole & parts[left] & parts[right] & ~f.hanzi[left] & ~f.hanzi[right])
    out[idx] = compare_latin(f, left[idx], right[idx], latin_similar=latin_similar)
    return out


def compare_id(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    full_both, exact = _equal(f.id_number, left, right)
    _, stub_equal = _equal(f.id_stub, left, right)
    present = ((f.id_number.codes[left] >= 0) | f.id_masked[left]) & (
        (f.id_number.codes[right] >= 0) | f.id_masked[right]
    )
    masked = present & (f.id_masked[left] | f.id_masked[right])
    out = np.full(len(left), NULL, dtype=np.int8)

    out[full_both] = level("id", "different")
    idx = np.flatnonzero(full_both & ~exact & ~(f.id_valid[left] & f.id_valid[right]))
    out[idx[_one_edit(f.id_number, left[idx], right[idx])]] = level("id", "typo")
    out[f.resident_id[left] & f.resident_id[right] & ~exact] = level("id", "conflict")
    out[exact] = level("id", "exact")

    out[masked] = level("id", "masked_different")
    out[masked & stub_equal] = level("id", "masked_compatible")
    return out


def compare_birth_date(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    year_l, year_r = f.birth_year[left], f.birth_year[right]
    days_l, days_r = f.birth_days[left], f.birth_days[right]
    years = (year_l > 0) & (year_r > 0)
    dates = (days_l != NO_DATE) & (days_r != NO_DATE)
    same_year = year_l == year_r
    swapped = (f.birth_month[left] == f.birth_day[right]) & (
        f.birth_day[left] == f.birth_month[right]
    )
    out = np.full(len(left), NULL, dtype=np.int8)
    out[years & ~dates] = level("birth_date", "year_different")
    out[years & ~dates & same_year] = level("birth_date", "year_agrees")
    out[dates] = level("birth_date", "different")
    out[dates & same_year] = level("birth_date", "same_year")
    out[dates & same_year & swapped] = level("birth_date", "day_month_swapped")
    out[dates & (days_l == days_r)] = level("birth_date", "exact")
    return out


def compare_mobile(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    both, exact = _equal(f.mobile, left, right)
    out = np.where(both, level("mobile", "different"), NULL).astype(np.int8)
    idx = np.flatnonzero(both & ~exact)
    out[idx[_one_edit(f.mobile, left[idx], right[idx])]] = level("mobile", "one_edit")
    out[exact] = level("mobile", "exact")
    return out


def compare_email(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    both, exact = _equal(f.email, left, right)
    return np.select(
        [exact, both], [level("email", "exact"), level("email", "different")], NULL
    ).astype(np.int8)


def compare_gender(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    g_l, g_r = f.gender[left], f.gender[right]
    both = (g_l >= 0) & (g_r >= 0)
    return np.select(
        [both & (g_l == g_r), both], [level("gender", "agree"), level("gender", "disagree")], NULL
    ).astype(np.int8)


def compare_address(
    f: Features, left: np.ndarray, right: np.ndarray, *, fuzzy: float = ADDRESS_SIMILAR / 100
) -> np.ndarray:
    both, exact = _equal(f.address, left, right)
    cities, same_city = _equal(f.city, left, right)
    out = np.full(len(left), NULL, dtype=np.int8)
    out[both] = level("address", "different")
    out[both & same_city] = level("address", "same_city")
    # Addresses are compared without spacing, so for Chinese text (no spaces between tokens) the
    # token-set ratio is the plain ratio; a latin address still tolerates a typo.
    idx = np.flatnonzero(both & ~exact)
    similar = _scores(fuzz.ratio, f.address.take(left[idx]), f.address.take(right[idx]))
    out[idx[similar >= fuzzy * 100 - 1e-9]] = level("address", "fuzzy")
    out[exact] = level("address", "exact")
    out[~both & cities] = level("address", "city_different")
    out[~both & same_city] = level("address", "city_agrees")
    return out


COMPARATORS: dict[str, Callable[..., np.ndarray]] = {
    "name": compare_name,
    "id": compare_id,
    "birth_date": compare_birth_date,
    "mobile": compare_mobile,
    "email": compare_email,
    "gender": compare_gender,
    "address": compare_address,
}


# Similarity cutoffs a matching.yaml may move, per comparison: the level each decides and its
# default (a share, 0-1; the address's is rapidfuzz's ratio over 100).
CUTOFFS: dict[str, dict[str, float]] = {
    "name": {
        "char_similar": NAME_SIMILAR,  # Levenshtein similarity of the characters
        "romanized_similar": PINYIN_SIMILAR,  # Jaro-Winkler of the pinyin
        "latin_similar": LATIN_SIMILAR,  # Jaro-Winkler of a given or family name
    },
    "address": {"fuzzy": ADDRESS_SIMILAR / 100},
}


def compare(
    f: Features,
    left: np.ndarray,
    right: np.ndarray,
    cutoffs: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """Level codes (int8, -1 = null) per comparison for the pairs (left[i], right[i]);
    ``cutoffs``: comparison -> {level: cutoff} replacing CUTOFFS' defaults."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    moved = cutoffs or {}
    return pd.DataFrame(
        {name: fn(f, left, right, **moved.get(name, {})) for name, fn in COMPARATORS.items()}
    )
