"""Latin-script names: given and family parts, their sounds and English nicknames.

The parts come from nameparser (``Smith, John``, ``Dr. John A. Smith``); sounds from jellyfish
(NYSIIS for given names, Metaphone for family names: Metaphone folds more spellings of a
surname together, NYSIIS keeps short given names apart); nicknames from the ``nicknames``
package (Bill ~ William, Peggy ~ Margaret).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import jellyfish
from nameparser import HumanName
from nameparser.config import CONSTANTS
from nicknames import NickNamer

_NOT_LETTER = re.compile(r"[^a-z ]+")
# one plain word: letters, inner hyphens or apostrophes (Mary-Jane, O'Brien); no period, comma
_PLAIN_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# nameparser's own patterns for words it reads as a numeral or patronymic
_PARSER_PATTERN: dict[str, re.Pattern[str]] = {
    name: getattr(CONSTANTS.regexes, name)
    for name in ("roman_numeral", "east_slavic_patronymic", "turkic_patronymic_marker")
}


def clean_part(value: Any) -> str | None:
    """A name part as compared: lowercase ASCII letters, accents and hyphens dropped."""
    if not isinstance(value, str):
        return None
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    text = " ".join(_NOT_LETTER.sub("", ascii_text.lower().replace("-", "")).split())
    return text or None


def split_name(full_name: Any) -> tuple[str | None, str | None]:
    """(given, family) of a full latin name; (None, None) for one word or non-latin script."""
    if not isinstance(full_name, str) or not all(
        unicodedata.name(ch, "").startswith("LATIN") for ch in full_name if ch.isalpha()
    ):
        return None, None
    return _split_latin(full_name)


# nameparser takes most of a millisecond a name, and a run splits every distinct name twice:
# for the match keys it stores and for the matcher (300,000 records hold 37,000 of them).
@lru_cache(maxsize=262_144)
def _split_latin(full_name: str) -> tuple[str | None, str | None]:
    words = full_name.split()
    if len(words) == 2 and not any(_parser_word(word) for word in words):
        # "Given Family" of two plain words is what nameparser makes of it too (first, last),
        # at a hundredth of its cost: most names of a list are of this form
        given, family = clean_part(words[0]), clean_part(words[1])
        return (given, family) if given is not None and family is not None else (None, None)
    name = HumanName(full_name)
    # Middle words go with the part they most often belong to: after the given name in the
    # family-first form (García López, José María), else before the family name (Juan Manuel
    # Chaves Pedrosa, John Fitzgerald Kennedy), as second given names and first surnames are
    # told apart by no rule; the comparison lets one side's words fall within the other's.
    if "," in full_name:
        given, family = clean_part(f"{name.first} {name.middle}"), clean_part(name.last)
    else:
        given, family = clean_part(name.first), clean_part(f"{name.middle} {name.last}")
    if given is None or family is None:
        return None, None
    return given, family


@lru_cache(maxsize=65_536)
def _parser_word(word: str) -> bool:
    """A word nameparser reads as more than a name (a title, suffix, prefix or conjunction:
    Dr, Jr, van, y) or that is not one plain word: such names go through nameparser."""
    if _PLAIN_WORD.fullmatch(word) is None or len(word) == 1:  # an initial
        return True
    if (
        _PARSER_PATTERN["roman_numeral"].match(word)  # Louis XIV
        or _PARSER_PATTERN["east_slavic_patronymic"].search(word)
        or _PARSER_PATTERN["turkic_patronymic_marker"].match(word)
    ):
        return True
    lower = word.lower()
    return any(
        lower in words
        for words in (
            CONSTANTS.titles,
            CONSTANTS.suffix_acronyms,
            CONSTANTS.suffix_not_acronyms,
            CONSTANTS.prefixes,
            CONSTANTS.conjunctions,
        )
    )


def given_sound(value: str) -> str:
    return str(jellyfish.nysiis(value)) if len(value) > 1 else ""


def family_sound(value: str) -> str:
    return str(jellyfish.metaphone(value)) if len(value) > 1 else ""


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=100_000)
def _forms(given: str) -> frozenset[str]:
    """The name itself, its nicknames and the names it is a nickname of."""
    namer = _namer()
    return frozenset({given} | namer.nicknames_of(given) | namer.canonicals_of(given))


def nickname_of(a: str, b: str) -> bool:
    """One given name is a nickname of the other (or both of a third: Bill, Will ~ William)."""
    return bool(_forms(a) & _forms(b)) if a and b else False
