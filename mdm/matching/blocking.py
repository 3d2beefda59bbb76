"""Candidate pairs: records that share a blocking key under at least one rule.

Each rule maps a record to an integer key (-1 = not blocked). Pairs come from sorting the keys and
enumerating each block with array arithmetic, never a Python loop over records. A key shared by more
than ``max_block_size`` records (a branch's placeholder phone, hundreds of 张伟 in one city) would
add quadratically many pairs that the other rules cover better, so that block is skipped for that
rule and reported.

Below that, a coarse key's blocks grow with the population: a common name and a birth year, a
surname and a birth date, a family name's sound in a city hold a few people among ten thousand
records and a few dozen among a million, and all pairs of a block grow with the square of its
size. A block of more than ``window + 1`` records is therefore not enumerated whole but by the
sorted neighbourhood method: its records are sorted by what the key leaves free, and each pairs
only with the ``window`` records after it, in each of NEIGHBOUR_ORDERS. One person's records agree
on most of those fields, namesakes and relatives on few, so they sort next to each other; a
second order catches the record whose name or birth date was mistyped or left out. A block
then adds pairs linear in its size, and a record at most ``window`` per order and rule.

The orders compare text and dates, with the record_key last, never a code of this run's
factorizing: a block's records sort alike whatever other records are prepared with them, so an
incremental run, which prepares only a delta's neighbourhood (every record of each block it
touches), pairs them exactly as a full run does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mdm.matching.arrays import pair_codes, run_starts
from mdm.matching.features import NO_DATE, Codes, Features

STEWARD_RULE = "steward"  # pairs a steward decided on, scored even when no rule proposes them


@dataclass(frozen=True)
class BlockingRule:
    """A named key; records with equal keys become candidate pairs.

    ``implicates`` names the comparisons EM must not learn m from on this rule's pairs: those the
    key makes agree by construction, and the address wherever relatives meet (a shared phone,
    one surname and birth date, one name and birth year for homophone-named twins). Relatives
    share an address far more often than random pairs do, which would teach EM that an
    address in common is the mark of one person.
    """

    name: str
    key: Callable[[Features], np.ndarray]
    implicates: tuple[str, ...]
    identifier: bool = False  # records sharing the key are nearly always one person


def combine(*codes: np.ndarray) -> np.ndarray:
    """One int64 key from several codes; -1 when any part is absent."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    present = np.ones(len(codes[0]), dtype=bool)
    for part in codes:
        key = key * (int(part.max(initial=0)) + 1) + np.maximum(part, 0)
        present &= part >= 0
    return np.where(present, key, -1)


def _valid_id(f: Features) -> np.ndarray:
    return np.where(f.id_valid, f.id_number.codes, -1)


def _birth_date(f: Features) -> np.ndarray:
    return np.where(f.birth_days == NO_DATE, -1, f.birth_days.astype(np.int64) - NO_DATE)


def _birth_year(f: Features) -> np.ndarray:
    return np.where(f.birth_year > 0, f.birth_year.astype(np.int64), -1)


def _full_name(f: Features) -> np.ndarray:
    return np.where(f.partial, -1, f.name.codes)


def _pinyin(f: Features) -> np.ndarray:
    return np.where(f.partial, -1, f.pinyin.codes)


_DATE_CITY = ("birth_date", "address")

DEFAULT_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("id", _valid_id, ("id",), identifier=True),
    BlockingRule("id17", lambda f: f.id17.codes, ("id",), identifier=True),
    BlockingRule(
        "id_stub_name",
        lambda f: combine(f.id_stub.codes, _pinyin(f)),
        ("id", "name"),
        identifier=True,
    ),
    BlockingRule("mobile", lambda f: f.mobile.codes, ("mobile", "address")),
    BlockingRule(
        "mobile_digits_surname",
        lambda f: combine(f.mobile_digits.codes, f.surname.codes),
        ("mobile", "address"),
    ),
    BlockingRule("email", lambda f: f.email.codes, ("email",), identifier=True),
    BlockingRule(
        "name_birth_year",
        lambda f: combine(_pinyin(f), _birth_year(f)),
        ("name", "birth_date", "address"),
    ),
    BlockingRule("name_city", lambda f: combine(_full_name(f), f.city.codes), ("name", "address")),
    BlockingRule(
        "surname_birth_date",
        lambda f: combine(f.surname.codes, _birth_date(f)),
        ("name", "birth_date", "address"),
    ),
    # Rules that leave the name free, so that every population (no identifier, no phone)
    # has pairs that teach the name comparison, and rules for latin names whose spelling,
    # nickname or order differs.
    BlockingRule("birth_date_city", lambda f: combine(_birth_date(f), f.city.codes), _DATE_CITY),
    BlockingRule("address", lambda f: f.address.codes, ("address",)),
    BlockingRule(
        "family_sound_city",
        lambda f: combine(f.family_sound.codes, f.city.codes),
        ("name", "address"),
    ),
    # Twins share a family name, birth date and address but not a given name: these pairs
    # teach the address comparison.
    BlockingRule(
        "latin_name_birth_date",
        lambda f: combine(f.given_sound.codes, f.family_sound.codes, _birth_date(f)),
        ("name", "birth_date"),
    ),
    # A latin name's sound alone, for the records whose city is mistyped and that share no
    # birth date (a list without one); and a family name's sound within a postcode, for a
    # given name mistyped, a nickname or an initial where the city is mistyped too.
    BlockingRule(
        "latin_name_sound",
        lambda f: combine(f.given_sound.codes, f.family_sound.codes),
        ("name",),
    ),
    BlockingRule(
        "postcode_family_sound",
        lambda f: combine(f.postcode.codes, f.family_sound.codes),
        ("name", "address"),
    ),
)


# Rules that only train (their pairs teach m, and are neither scored nor merged), chosen by
# training_rules where no prediction rule leaves a comparison free on the records at hand:
# a population mapping name, birth date and postcode only has every pair found by its name or
# birth date, so those two would teach nothing. Each is one field people keep, on which
# strangers rarely meet and relatives often do (hence the address where a home is shared).
TRAINING_RULES: tuple[BlockingRule, ...] = (
    BlockingRule("train_postcode", lambda f: f.postcode.codes, ("address",)),
    BlockingRule("train_birth_date", _birth_date, ("birth_date",)),
    BlockingRule("train_phone", lambda f: f.phone_other.codes, ("mobile", "address")),
    BlockingRule("train_city", lambda f: f.city.codes, ("address",)),
)


def training_rules(
    pairs_per_rule: dict[str, int],
    rules: tuple[BlockingRule, ...],
    comparable: dict[str, bool],
    features: Features,
    max_block_size: int,
) -> tuple[BlockingRule, ...]:
    """TRAINING_RULES that leave free the comparisons (``comparable``: some records hold the
    field) that no rule which found pairs leaves free, the first that finds pairs for each."""
    found = [rule for rule in rules if pairs_per_rule.get(rule.name, 0) > 0]
    chosen: list[BlockingRule] = []
    for comparison, present in comparable.items():
        if not present or any(comparison not in r.implicates for r in [*found, *chosen]):
            continue
        for rule in TRAINING_RULES:
            if comparison in rule.implicates or rule in chosen:
                continue
            if len(block_pairs(rule.key(features), max_block_size)[0]):
                chosen.append(rule)
                break
    return tuple(chosen)


@dataclass(frozen=True)
class Blocking:
    """Unique unordered candidate pairs and how each rule contributed.

    ``pairs`` has ``left``/``right`` (row positions, left's record_key < right's) and ``rule_mask``
    (bit i set when ``rules[i]`` produced the pair).
    """

    pairs: pd.DataFrame
    rules: tuple[BlockingRule, ...]
    pairs_per_rule: dict[str, int]
    skipped_blocks: dict[str, int]

    @property
    def bit_names(self) -> list[str]:
        """The name behind each bit of ``rule_mask``."""
        return [rule.name for rule in self.rules] + [STEWARD_RULE]

    def proposed_by(self, rule: str) -> np.ndarray:
        """Which pairs the named rule (or STEWARD_RULE) produced."""
        return (self.pairs["rule_mask"].to_numpy() >> self.bit_names.index(rule)) & 1 == 1

    def rule_names(self, mask: np.ndarray) -> pd.Categorical:
        """Comma-joined rule names per pair, built once per distinct mask."""
        names = self.bit_names
        distinct, inverse = np.unique(mask, return_inverse=True)
        labels = [",".join(n for i, n in enumerate(names) if int(m) >> i & 1) for m in distinct]
        return pd.Categorical.from_codes(inverse, categories=pd.Index(labels, dtype=object))


# What a block's records are sorted by, one pass each: the name (its syllables or words in
# sorted order, so that either order and a romanized copy sort alike), then the birth date; and
# the mobile, then the name, for the records that lack a birth date or whose name is mistyped.
# A key fixes some of these fields (a name rule its name): within its blocks the next decides.
NEIGHBOUR_ORDERS: tuple[tuple[str, str], ...] = (("pinyin", "birth_date"), ("mobile", "pinyin"))


def _text_rank(codes: Codes) -> np.ndarray:
    """Each record's value's place in the text order of the values (-1 when absent)."""
    _, rank = np.unique(codes.values.astype(str), return_inverse=True)
    return np.append(rank.astype(np.int64), -1)[codes.codes]


def _order_field(features: Features, name: str) -> np.ndarray:
    if name == "birth_date":
        return features.birth_days.astype(np.int64)
    codes: Codes = getattr(features, name)
    return _text_rank(codes)


def neighbour_orders(features: Features) -> tuple[np.ndarray, ...]:
    """Per NEIGHBOUR_ORDERS pass, each record's position when all are sorted by that pass's
    fields and then by record_key: sorting a block's records by it sorts them by those."""
    positions = []
    for fields in NEIGHBOUR_ORDERS:
        keys = [features.rank, *(_order_field(features, name) for name in reversed(fields))]
        position = np.empty(features.size, dtype=np.int64)
        position[np.lexsort(keys)] = np.arange(features.size)
        positions.append(position)
    return tuple(positions)


def _all_pairs(starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the sorted members) of every pair within each block."""
    # Member t of a block of size s pairs with the s-1-t members after it.
    first = np.repeat(starts, sizes)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    later = np.repeat(sizes, sizes) - 1 - offset
    position = first + offset
    left = np.repeat(position, later)
    step = np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later)
    return left, np.repeat(position + 1, later) + step


def _next_pairs(sizes: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of each member paired with the ``window`` members after it in its block, for
    blocks of the given sizes laid end to end."""
    offset = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    later = np.minimum(window, np.repeat(sizes, sizes) - 1 - offset)
    left = np.repeat(np.arange(len(offset)), later)
    step = np.arange(len(left)) - np.repeat(np.cumsum(later) - later, later)
    return left, left + 1 + step


def _neighbour_pairs(
    members: np.ndarray,
    sizes: np.ndarray,
    window: int,
    orders: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted-neighbourhood pairs of the blocks that ``members`` (sorted by key, blocks of
    ``sizes`` end to end) make up; a pair two orders find comes twice (candidate_pairs merges
    each pair's copies anyway)."""
    block = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    left, right = _next_pairs(sizes, window)
    lefts, rights = [], []
    for order in orders:
        # one int64 sort: the block, then the record's place in the order (below its size)
        ordered = members[np.argsort(block * len(order) + order[members])]
        lefts.append(ordered[left])
        rights.append(ordered[right])
    return np.concatenate(lefts), np.concatenate(rights)


def block_pairs(
    key: np.ndarray,
    max_block_size: int,
    window: int | None = None,
    orders: tuple[np.ndarray, ...] = (),
) -> tuple[np.ndarray, np.ndarray, int]:
    """Position pairs (i, j) within each block of equal non-negative keys: all of a block's
    pairs, or for a block of more than ``window + 1`` records each record with the ``window``
    after it in each of ``orders`` (neighbour_orders; a pair that two orders find comes twice).

    Returns the pairs and the number of blocks skipped for exceeding ``max_block_size``.
    """
    members = np.flatnonzero(key >= 0)
    order = members[np.argsort(key[members])]
    starts = run_starts(key[order])
    sizes = np.diff(np.r_[starts, len(order)])
    kept = (sizes >= 2) & (sizes <= max_block_size)
    skipped = int(np.count_nonzero(sizes > max_block_size))
    whole = kept if window is None else kept & (sizes <= window + 1)
    left, right = _all_pairs(starts[whole], sizes[whole])
    left, right = order[left], order[right]
    windowed = kept & ~whole
    if windowed.any():
        assert window is not None and orders, "a window needs orders to sort its blocks by"
        in_windowed = np.repeat(windowed, sizes)
        near_left, near_right = _neighbour_pairs(
            order[in_windowed], sizes[windowed], window, orders
        )
        left, right = np.r_[left, near_left], np.r_[right, near_right]
    return left, right, skipped


def candidate_pairs(
    features: Features,
    *,
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES,
    max_block_size: int = 200,
    window: int | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> Blocking:
    """Union of the rules' pairs, blocks of more than ``window + 1`` records by their sorted
    neighbourhood (None: every block whole); ``extra`` position pairs (steward decisions) join
    as one more rule, STEWARD_RULE, whose bit is the one just past the last rule's."""
    n = features.size
    orders = neighbour_orders(features) if window is not None else ()
    # Each pair code (under 52 bits up to 50 million records) carries its rule's bit in the low
    # bits, so one sort brings every rule's copy of a pair together for an OR.
    width = len(rules) + 1
    tagged: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    skipped_blocks: dict[str, int] = {}
    for bit, rule in enumerate(rules):
        left, right, skipped = block_pairs(rule.key(features), max_block_size, window, orders)
        skipped_blocks[rule.name] = skipped
        tagged.append((pair_codes(left, right, n) << width) | (1 << bit))
    if extra is not None:
        left, right = (np.asarray(side, dtype=np.int64) for side in extra)
        distinct = left != right
        tagged.append((pair_codes(left[distinct], right[distinct], n) << width) | (1 << len(rules)))

    # in place where it can be: every rule's pairs before the union are several times its size
    ordered = np.concatenate(tagged)
    del tagged
    ordered.sort()
    all_bits = ordered & ((1 << width) - 1)
    ordered >>= width
    all_codes = ordered
    starts = run_starts(all_codes)
    unique_codes = all_codes[starts]
    masks = np.bitwise_or.reduceat(all_bits, starts) if len(starts) else all_bits[:0]
    # counted after the union: a window's two orders may propose one pair twice
    pairs_per_rule = {
        rule.name: int(np.count_nonzero((masks >> bit) & 1)) for bit, rule in enumerate(rules)
    }

    low, high = unique_codes // n, unique_codes % n
    swap = features.rank[low] > features.rank[high]
    pairs = pd.DataFrame(
        {
            "left": np.where(swap, high, low),
            "right": np.where(swap, low, high),
            "rule_mask": masks,
        },
        copy=False,  # the arrays are the frame's own
    )
    return Blocking(pairs, rules, pairs_per_rule, skipped_blocks)


# Fields a matching.yaml rule may combine: each one's key, and the comparison it makes agree.
FIELD_KEYS: dict[str, tuple[Callable[[Features], np.ndarray], str]] = {
    "name": (_full_name, "name"),
    "pinyin": (_pinyin, "name"),  # either order of the name's syllables
    "surname": (lambda f: f.surname.codes, "name"),
    "given_name": (lambda f: f.given.codes, "name"),  # latin names
    "family_name": (lambda f: f.family.codes, "name"),
    "given_sound": (lambda f: f.given_sound.codes, "name"),
    "family_sound": (lambda f: f.family_sound.codes, "name"),
    "birth_date": (_birth_date, "birth_date"),
    "birth_year": (_birth_year, "birth_date"),
    "id_number": (_valid_id, "id"),
    "mobile": (lambda f: f.mobile.codes, "mobile"),
    "email": (lambda f: f.email.codes, "email"),
    "address": (lambda f: f.address.codes, "address"),
    "city": (lambda f: f.city.codes, "address"),
}


def field_rule(name: str, fields: tuple[str, ...]) -> BlockingRule:
    """A rule on several FIELD_KEYS at once. It teaches neither its fields' comparisons nor the
    address, where relatives meet on most keys (see BlockingRule)."""
    keys = [FIELD_KEYS[field][0] for field in fields]
    implicates = (*dict.fromkeys(FIELD_KEYS[field][1] for field in fields), "address")
    return BlockingRule(name, lambda f: combine(*(key(f) for key in keys)), implicates)
