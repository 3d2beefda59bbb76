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
            # two different valid ids of one type unique per person with a check digit
            # (resident ids, ES_DNI …): hard evidence of two people
            "conflict",
            "different",
            "typo",  # one edit apart (a substitution, transposition, a check letter left
            # off), unless both pass a check digit, which one edit cannot keep passing
            "exact",
        ),
        "masked": ("masked_different", "masked_compatible"),  # visible first 6 + last 4
    },
    "birth_date": {
        "date": (
            "different",
            "same_year",
            "typo",  # YYYYMMDD one keystroke apart: 1978/1987, 12/13, a digit mistyped
            "day_month_swapped",
            "exact",
        ),
        "year": ("year_different", "year_agrees"),  # a side knows only the year
    },
    "mobile": {
        "mobile": ("different", "one_edit", "exact"),
        # A side lacks a mobile: any phone of one (mobile, landline) against any of the other.
        # A landline is often a household's, so this mode weighs apart from mobiles.
        "any_phone": ("phones_different", "phone_shared"),
    },
    "email": {
        "email": (
            "different",
            "local_similar",  # the local parts one edit apart or equal: a re-typed address
            "exact",
        )
    },
    "gender": {"gender": ("disagree", "agree")},
    "address": {
        "address": (
            "different",
            "same_city",
            "same_postcode",
            "number_street",  # same house number, street words agree (Calle / C/, a typo)
            "fuzzy",
            "exact",
        ),
        # an address missing: postcode and city compared
        "city": ("city_different", "city_typo", "city_agrees", "postcode_agrees"),
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
STREET_WORDS_SIMILAR = 80.0  # token-set ratio of the street words beside the house number
CITY_SIMILAR = 0.92  # Jaro-Winkler of two city names: a typo (Zaragoza / Zaragosa)
LATIN_SIMILAR = 0.92  # Jaro-Winkler of a given or family name: Jon/John, Schmidt/Schmitt;
# one edit also counts from four letters (Jirdan/Jordan scores 0.89)


def level(comparison: str, name: str) -> int:
    return COMPARISONS[comparison].index(name)


_SCORED_AT_ONCE = 1 << 18  # pairs handed to rapidfuzz at once


def _scores(scorer: Callable[..., float], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    # A chunk at a time: each pair scores alone, and rapidfuzz's copies of millions of pairs'
    # strings at once took a hundred megabytes and more.
    out = np.empty(len(left), dtype=np.float64)
    for start in range(0, len(left), _SCORED_AT_ONCE):
        end = start + _SCORED_AT_ONCE
        out[start:end] = process.cpdist(
            list(left[start:end]), list(right[start:end]), scorer=scorer, workers=-1
        )
    return out


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


def _word_agrees(word: str, words: list[str]) -> bool:
    return any(w == word or (len(word) >= 4 and distance.OSA.distance(w, word) <= 1) for w in words)


def _words_within(a: str, b: str) -> bool:
    """Every word of the name with fewer words is, or is one edit from, a word of the other."""
    short, long = sorted((a.split(), b.split()), key=len)
    return bool(short) and all(_word_agrees(word, long) for word in short)


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
    if left_part == right_part:
        # Two surnames (García López) where a form had room for one, two given names (Juan
        # Manuel) where it kept the first, a middle word put on the other side of a split:
        # one side's words among the other's.
        idx = np.flatnonzero(~similar & (np.char.find(a.astype(str), " ") >= 0))
        idx = np.union1d(idx, np.flatnonzero(~similar & (np.char.find(b.astype(str), " ") >= 0)))
        similar[idx] = np.fromiter(map(_words_within, a[idx], b[idx]), bool, len(idx))
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
    """Numbers of two different stated id types (a passport and a national id) are not
    compared: they never agree, and differing says nothing."""
    type_l, type_r = f.id_type[left], f.id_type[right]
    same_type = (type_l < 0) | (type_r < 0) | (type_l == type_r)
    full_both, exact = _equal(f.id_number, left, right)
    full_both &= same_type
    exact &= same_type
    _, stub_equal = _equal(f.id_stub, left, right)
    present = ((f.id_number.codes[left] >= 0) | f.id_masked[left]) & (
        (f.id_number.codes[right] >= 0) | f.id_masked[right]
    )
    masked = present & (f.id_masked[left] | f.id_masked[right])
    out = np.full(len(left), NULL, dtype=np.int8)

    out[full_both] = level("id", "different")
    checked = f.id_checked[left] & f.id_checked[right]
    idx = np.flatnonzero(full_both & ~exact & ~checked)
    out[idx[_one_edit(f.id_number, left[idx], right[idx])]] = level("id", "typo")
    out[full_both & checked & (type_l == type_r) & ~exact] = level("id", "conflict")
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
    idx = np.flatnonzero(dates & (days_l != days_r))
    typo = _one_edit(f.birth_digits, left[idx], right[idx])
    out[idx[typo]] = level("birth_date", "typo")
    out[dates & same_year & swapped] = level("birth_date", "day_month_swapped")
    out[dates & (days_l == days_r)] = level("birth_date", "exact")
    return out


def _phones_shared(f: Features, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, ...]:
    """(each side has some phone, some phone of one equals some phone of the other)."""
    numbers_l = (f.mobile.take(left), f.phone_other.take(left))
    numbers_r = (f.mobile.take(right), f.phone_other.take(right))
    has_l = (numbers_l[0] != "") | (numbers_l[1] != "")
    has_r = (numbers_r[0] != "") | (numbers_r[1] != "")
    shared = np.zeros(len(left), dtype=bool)
    for a in numbers_l:
        for b in numbers_r:
            shared |= (a == b) & (a != "")
    return has_l & has_r, shared


def compare_mobile(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    both, exact = _equal(f.mobile, left, right)
    out = np.where(both, level("mobile", "different"), NULL).astype(np.int8)
    idx = np.flatnonzero(both & ~exact)
    out[idx[_one_edit(f.mobile, left[idx], right[idx])]] = level("mobile", "one_edit")
    out[exact] = level("mobile", "exact")
    idx = np.flatnonzero(~both)
    phones, shared = _phones_shared(f, left[idx], right[idx])
    out[idx[phones]] = level("mobile", "phones_different")
    out[idx[shared]] = level("mobile", "phone_shared")
    return out


def compare_email(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A local part one edit away (jamie.pacehco52 / jamie.pacheco52) or the same local part
    at another provider is the same person re-typing an address; five characters at least, as
    short local parts (li, wang) are shared by many."""
    both, exact = _equal(f.email, left, right)
    out = np.where(both, level("email", "different"), NULL).astype(np.int8)
    idx = np.flatnonzero(both & ~exact)
    local_l, local_r = f.email_local.take(left[idx]), f.email_local.take(right[idx])
    long_enough = np.char.str_len(local_l.astype(str)) >= 5
    near = _scores(distance.OSA.distance, local_l, local_r) <= 1
    out[idx[near & long_enough]] = level("email", "local_similar")
    out[exact] = level("email", "exact")
    return out


def compare_gender(f: Features, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    g_l, g_r = f.gender[left], f.gender[right]
    both = (g_l >= 0) & (g_r >= 0)
    return np.select(
        [both & (g_l == g_r), both], [level("gender", "agree"), level("gender", "disagree")], NULL
    ).astype(np.int8)


def compare_address(
    f: Features, left: np.ndarray, right: np.ndarray, *, fuzzy: float = ADDRESS_SIMILAR / 100
) -> np.ndarray:
    """Whole addresses where both have one, else postcode and city.

    The same house number with street words that mostly agree (token-set ratio, so Calle and
    its abbreviation C/ or a dropped word cost little) is one address typed two ways. A
    shared postcode narrows a city to a few streets. Cities one typo apart agree as a typo.
    ``fuzzy``: the whole-address similarity (0-1) of the fuzzy level (matching.yaml).
    """
    both, exact = _equal(f.address, left, right)
    cities, same_city = _equal(f.city, left, right)
    postcodes, same_postcode = _equal(f.postcode, left, right)
    out = np.full(len(left), NULL, dtype=np.int8)
    out[both] = level("address", "different")
    out[both & same_city] = level("address", "same_city")
    out[both & same_postcode] = level("address", "same_postcode")
    idx = np.flatnonzero(both & ~exact)
    numbers_l = f.house_number.codes[left[idx]]
    numbers_r = f.house_number.codes[right[idx]]
    at = np.flatnonzero((numbers_l == numbers_r) & (numbers_l >= 0))
    street = _scores(
        fuzz.token_set_ratio,
        f.street_words.take(left[idx[at]]),
        f.street_words.take(right[idx[at]]),
    )
    out[idx[at[street >= STREET_WORDS_SIMILAR]]] = level("address", "number_street")
    # Addresses are compared without spacing, so for Chinese text (no spaces between tokens) the
    # token-set ratio is the plain ratio; a latin address still tolerates a typo. Two different
    # house numbers on one street are neighbours, however alike the rest.
    similar = _scores(fuzz.ratio, f.address.take(left[idx]), f.address.take(right[idx]))
    neighbours = (numbers_l != numbers_r) & (numbers_l >= 0) & (numbers_r >= 0)
    out[idx[(similar >= fuzzy * 100 - 1e-9) & ~neighbours]] = level("address", "fuzzy")
    out[exact] = level("address", "exact")

    local = ~both & (cities | postcodes)
    out[local] = level("address", "city_different")
    idx = np.flatnonzero(local & cities & ~same_city)
    typo = _scores(
        distance.JaroWinkler.normalized_similarity, f.city.take(left[idx]), f.city.take(right[idx])
    )
    out[idx[typo >= CITY_SIMILAR]] = level("address", "city_typo")
    out[local & same_city] = level("address", "city_agrees")
    out[local & same_postcode] = level("address", "postcode_agrees")
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


def comparable(f: Features) -> dict[str, bool]:
    """Per comparison: do at least two records hold what it compares?"""

    def held(present: np.ndarray) -> bool:
        return int(np.count_nonzero(present)) >= 2

    return {
        "name": held(f.name.codes >= 0),
        "id": held(f.id_number.codes >= 0),
        "birth_date": held(f.birth_year > 0),
        "mobile": held((f.mobile.codes >= 0) | (f.phone_other.codes >= 0)),
        "email": held(f.email.codes >= 0),
        "gender": held(f.gender >= 0),
        "address": held((f.address.codes >= 0) | (f.city.codes >= 0) | (f.postcode.codes >= 0)),
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


# compare()'s signature: how the engine has its candidate pairs' levels computed. A caller may
# pass another that computes them elsewhere (flows/dask.py: in parts, on Dask workers), as long
# as it returns what compare() would, in the pairs' order.
ComparePairs = Callable[
    [Features, np.ndarray, np.ndarray, Mapping[str, Mapping[str, float]] | None], pd.DataFrame
]


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
