"""Person names: cleaning, traditional → simplified, partial callers (王先生) and matching keys.

Keys (see ``name_keys``):

- Chinese names: ``name_key`` is the simplified name without spaces; pinyin tokens are the
  surname reading (surname table first, so 单 is "shan") and the given name as one token:
  张伟 → ["zhang", "wei"], 欧阳修 → ["ouyang", "xiu"], 王小明 → ["wang", "xiaoming"]. Minority
  names keep their parts: 阿依古丽·买买提 → ["ayiguli", "maimaiti"].
- Partial callers (王先生, 李女士, 张总, 老王): every key holds the surname only (王 / "wang") and
  ``is_partial`` is True, so matching knows it has a surname and not a name.
- Latin names: ``name_key`` is the lowercase words in written order. If every word is pinyin the
  name is taken as a romanized Chinese name: one end word is chosen as the surname (the word
  after/before a comma, else the one word in CAPITALS, else the end word that is the more common
  Chinese surname, else the first word) and the remaining words are joined into one given name,
  so ``Wang Xiao Ming``, ``Xiao Ming Wang`` and ``Xiao-Ming WANG`` all give ["wang", "xiaoming"].
  Other latin names keep their words. Hyphens and apostrophes join a word (``Xiao-Ming`` →
  "xiaoming") rather than split it. ü is written u everywhere (吕 → "lu", LYU → "lu").
- Pinyin written as one word is split for the pinyin tokens (``name_key`` keeps the word): at
  its capitals (``ChenChunzi``, ``OuyangXiu``), else after the longest surname reading that
  leaves a one- or two-syllable given name (``zhangwei``, ``CHENCHUNZI`` → ["chen", "chunzi"]).
  A syllable starting with a, e or o inside a word would need an apostrophe in pinyin (Xi'an),
  so such splits are refused: ``Maria``, ``Diane`` and ``Johnson`` stay one token. Latin names
  that are pinyin-shaped (``Linda`` → lin da) cannot be told apart and are split too.
- ``name_pinyin_sorted`` sorts the tokens, so ZHANG WEI, Wei Zhang and 张伟 all give "wei zhang".
  Non-pinyin spellings (Cantonese ``Chan``) do not meet their Chinese form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, NamedTuple

import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

from mdm.standardize.surnames import COMMON_SURNAMES, COMPOUND_SURNAMES, POLYPHONIC_SURNAMES
from mdm.standardize.text import clean_text

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAS_CJK = re.compile(f"[{_CJK}]")
_PLAIN_CJK = re.compile(f"[{_CJK}]+")
# Minority names join their parts with a middle dot, which exports spell in many ways.
_NAME_DOT = re.compile(
    f"(?<=[{_CJK}])\\s*[.\u00b7\u2022\u2027\u2219\u22c5\u30fb\u2024\\-]\\s*(?=[{_CJK}])"
)
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}·]) +(?=[{_CJK}·])")
# Separators and list punctuation left at the ends of a name by hand entry. Symbols such as "="
# or "*" are deliberately not stripped: they are data (a formula, a masked name) for others.
_STRAY_PUNCTUATION = ",.;:!?，。；：！？、·\"'“”‘’ "

# Honorific suffixes (longest first, so 小姐 wins over 姐) with the gender they imply.
_HONORIFIC_SUFFIXES: dict[str, str | None] = {
    "先生": "M",
    "女士": "F",
    "小姐": "F",
    "太太": "F",
    "夫人": "F",
    "阿姨": "F",
    "大姐": "F",
    "大哥": "M",
    "大爷": "M",
    "老师": None,
    "师傅": None,
    "经理": None,
    "总监": None,
    "主任": None,
    "老板": None,
    "同学": None,
    "医生": None,
    "律师": None,
    "总": None,
    "董": None,
    "工": None,
    "姐": "F",
    "姨": "F",
    "哥": "M",
    "叔": "M",
}
HONORIFIC_FINAL_CHARS = frozenset(honorific[-1] for honorific in _HONORIFIC_SUFFIXES)
# 老王 / 小李 / 阿陈: only with a common surname, so given names such as 小明 are not caught.
HONORIFIC_PREFIXES: frozenset[str] = frozenset("老小阿")

_LATIN_SEPARATORS = re.compile(r"[\s,.;/]+")
_LATIN_JOINERS = re.compile(r"[-'’‘`]")
_UMLAUT_SPELLINGS: dict[str, str] = {"lv": "lu", "lyu": "lu", "nv": "nu", "nyu": "nu"}


class NameKeys(NamedTuple):
    name_key: str | None
    name_pinyin: str | None
    name_pinyin_sorted: str | None
    is_partial: bool | None  # None when there is no name at all


_NO_NAME = NameKeys(None, None, None, None)
_SURNAME_READINGS: dict[str, str] = {**POLYPHONIC_SURNAMES, **COMPOUND_SURNAMES}
_T2S = opencc.OpenCC("t2s")


def clean_person_name(value: Any) -> str | None:
    """Clean a name for storage: NFKC, controls removed, no spaces between Chinese characters,
    middle dots unified to ``·`` (阿依古丽·买买提), latin spacing collapsed, stray end
    punctuation dropped. Letter case is kept; keys are lowercased separately."""
    if isinstance(value, str) and _PLAIN_CJK.fullmatch(value):
        return value  # the common case: nothing to clean
    text = clean_text(value)
    if text is None:
        return None
    if _HAS_CJK.search(text):
        text = _SPACE_BETWEEN_CJK.sub("", _NAME_DOT.sub("·", text))
    text = text.strip(_STRAY_PUNCTUATION)
    return text or None


@lru_cache(maxsize=1 << 16)
def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (陳 → 陈); other text unchanged."""
    if text.isascii():
        return text
    return str(_T2S.convert(text))


def to_simplified_all(texts: list[str]) -> list[str]:
    """``to_simplified`` of many texts without newlines, in one OpenCC call."""
    # Cleaned names hold no newline, so one joined conversion splits back one-to-one and
    # costs a fifth of converting them one by one.
    if not texts:
        return []
    return str(_T2S.convert("\n".join(texts))).split("\n")


def has_chinese(text: str) -> bool:
    """True when the text contains a Chinese character."""
    return _HAS_CJK.search(text) is not None


def split_honorific(value: Any) -> tuple[str, str] | None:
    """(surname, honorific) for a caller known only as 王先生 / 张总 / 老王, else None."""
    name = clean_person_name(value)
    if name is None or not _HAS_CJK.search(name):
        return None
    return _split_honorific(to_simplified(name))


def is_partial_name(value: Any) -> bool:
    """True for a surname + honorific caller (王先生, 李女士, 张总, 老王)."""
    return split_honorific(value) is not None


def honorific_gender(honorific: str) -> str | None:
    """M/F implied by an honorific (先生 → M, 女士 → F), None when it says nothing."""
    return _HONORIFIC_SUFFIXES.get(honorific)


def pinyin_tokens(value: Any) -> list[str]:
    """Toneless lowercase pinyin tokens, surname first; see the module notes for latin input."""
    pinyin = name_keys(value).name_pinyin
    return pinyin.split() if pinyin else []


def name_keys(value: Any) -> NameKeys:
    """The matching keys of one name (module notes explain each key)."""
    return name_keys_many([value])[0]


def name_keys_many(values: Iterable[Any]) -> list[NameKeys]:
    """``name_keys`` of many names, with one OpenCC call for all the Chinese ones."""
    names = [clean_person_name(value) for value in values]
    is_chinese = [name is not None and _HAS_CJK.search(name) is not None for name in names]
    chinese = [name for name, flag in zip(names, is_chinese, strict=True) if flag and name]
    simplified = iter(to_simplified_all(chinese))
    return [
        _NO_NAME if name is None else _chinese_keys(next(simplified)) if flag else _latin_keys(name)
        for name, flag in zip(names, is_chinese, strict=True)
    ]


def surname_pinyin(surname: str) -> str:
    """The reading of a surname as a surname: 单 → shan, 欧阳 → ouyang, 张 → zhang."""
    reading = _SURNAME_READINGS.get(surname)
    return reading if reading is not None else pinyin_token(surname)


@lru_cache(maxsize=1 << 16)
def pinyin_token(text: str) -> str:
    """Toneless pinyin of Chinese text as one lowercase token (小明 → xiaoming), ü as u."""
    # Cached per string: given names repeat a lot (伟, 秀英) and lazy_pinyin costs ~20 µs.
    # Phrases are looked up on the whole given name, which resolves most polyphones in it.
    return "".join(lazy_pinyin(text, style=Style.NORMAL)).replace("v", "u").lower()


def _chinese_keys(simplified: str) -> NameKeys:
    name = simplified.replace(" ", "").lower()
    honorific = _split_honorific(name)
    if honorific is not None:
        surname = honorific[0]
        reading = surname_pinyin(surname)
        return NameKeys(surname, reading, reading, True)
    return _keys(name, _chinese_tokens(name))


def _latin_keys(name: str) -> NameKeys:
    words, tokens = _latin_words_and_tokens(name)
    return _keys(" ".join(words), tokens) if words else _NO_NAME


def _keys(key: str, tokens: tuple[str, ...]) -> NameKeys:
    return NameKeys(key, " ".join(tokens) or None, " ".join(sorted(tokens)) or None, False)


def _split_honorific(name: str) -> tuple[str, str] | None:
    if name[-1:] not in HONORIFIC_FINAL_CHARS and name[:1] not in HONORIFIC_PREFIXES:
        return None
    for honorific in _HONORIFIC_SUFFIXES:
        if name.endswith(honorific) and len(name) > len(honorific):
            surname = name[: -len(honorific)]
            if (len(surname) == 1 and _HAS_CJK.match(surname)) or surname in COMPOUND_SURNAMES:
                return surname, honorific
    if len(name) == 2 and name[0] in HONORIFIC_PREFIXES and name[1] in COMMON_SURNAMES:
        return name[1], name[0]
    return None


def _chinese_tokens(name: str) -> tuple[str, ...]:
    if "·" in name:
        return tuple(pinyin_token(part) for part in name.split("·") if part)
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        surname, given = name[:2], name[2:]
    else:
        surname, given = name[:1], name[1:]
    if not given:
        return (surname_pinyin(surname),)
    return surname_pinyin(surname), pinyin_token(given)


def _latin_words_and_tokens(name: str) -> tuple[list[str], tuple[str, ...]]:
    folded = name if name.isascii() else _without_diacritics(name)
    family_first = "," in folded
    raw_words = [w for w in _LATIN_SEPARATORS.split(_LATIN_JOINERS.sub("", folded)) if w]
    words = [_UMLAUT_SPELLINGS.get(w.lower(), w.lower()) for w in raw_words]
    # name_key keeps the name as written; only the pinyin tokens see a one-word name split.
    raw_parts = _split_one_word_pinyin(raw_words[0]) if len(raw_words) == 1 else raw_words
    parts = [_UMLAUT_SPELLINGS.get(w.lower(), w.lower()) for w in raw_parts]
    if len(parts) < 2 or not all(_is_pinyin(w) for w in parts):
        return words, tuple(words)
    surname_at = 0 if family_first else _romanized_surname_index(raw_parts, parts)
    surname = parts[surname_at]
    given = "".join(parts[:surname_at] + parts[surname_at + 1 :])
    return words, (surname, given)


def _without_diacritics(text: str) -> str:
    """Lü → Lu, José → Jose."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _romanized_surname_index(raw_words: list[str], words: list[str]) -> int:
    last = len(words) - 1
    capitals = [i for i, w in enumerate(raw_words) if len(w) > 1 and w.isupper()]
    if len(capitals) == 1 and capitals[0] in (0, last):
        return capitals[0]
    ranks = _surname_ranks()
    first_rank = ranks.get(words[0], len(ranks))
    last_rank = ranks.get(words[last], len(ranks))
    return last if last_rank < first_rank else 0


@lru_cache(maxsize=1)
def _surname_ranks() -> dict[str, int]:
    ranks: dict[str, int] = {}
    for surname in list(COMMON_SURNAMES) + list(COMPOUND_SURNAMES):
        ranks.setdefault(surname_pinyin(surname), len(ranks))
    return ranks


_CAMEL_PARTS = re.compile(r"[A-Z][a-z]+")


@lru_cache(maxsize=1 << 14)
def _split_one_word_pinyin(word: str) -> list[str]:
    """A romanized Chinese name written as one word, as its surname and given name (module
    notes); any other word as it is."""
    parts = _CAMEL_PARTS.findall(word)
    if len(parts) > 1 and "".join(parts) == word:
        return parts if all(_pinyin_split(part.lower(), 1, 4) for part in parts) else [word]
    lower = word.lower()
    if word not in (lower, word.upper(), word.capitalize()):
        return [word]
    for surname in sorted(_surname_ranks(), key=len, reverse=True):
        given = lower[len(surname) :]
        if lower.startswith(surname) and given[:1] not in "aeo" and _pinyin_split(given, 1, 2):
            return [word[: len(surname)], word[len(surname) :]]
    return [word]


@lru_cache(maxsize=1 << 14)
def _pinyin_split(word: str, fewest: int, most: int) -> bool:
    """True when the word is ``fewest``..``most`` pinyin syllables, none but the first starting
    with a, e or o (inside a word such a syllable would need an apostrophe)."""
    syllables = _pinyin_syllables()
    counts: list[set[int]] = [{0}] + [set() for _ in word]
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            inside = start > 0 and word[start] in "aeo"
            if counts[start] and not inside and word[start:end] in syllables:
                counts[end].update(n + 1 for n in counts[start] if n < most)
    return any(n >= fewest for n in counts[-1])


@lru_cache(maxsize=1 << 14)
def _is_pinyin(word: str) -> bool:
    """True when the word splits into pinyin syllables (xiaoming → xiao + ming)."""
    syllables = _pinyin_syllables()
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        reachable[end] = any(
            reachable[start] and word[start:end] in syllables
            for start in range(max(0, end - 6), end)
        )
    return reachable[-1]


@lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    readings = {reading for value in set(pinyin_dict.values()) for reading in value.split(",")}
    syllables = {to_normal(reading).replace("v", "u") for reading in readings}
    # Interjection readings without a vowel (m, n, hng) would make initials look like pinyin.
    return frozenset(
        s for s in syllables if s.isascii() and s.isalpha() and re.search("[aeiou]", s)
    )
