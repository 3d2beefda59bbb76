"""Why two records scored as they did, in words a steward reads (the `parts` of a possible
match: per comparison, the level reached and the weight it added)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mdm.masking import mask_value

# {a} and {b} are the two records' values of the comparison's field (masked where sensitive).
SENTENCES: dict[str, dict[str, str]] = {
    "name": {
        "exact": "names {a} / {b} match",
        "pinyin_exact": "names {a} / {b} sound the same (same pinyin)",
        "char_similar": "names {a} / {b} share most characters",
        "different": "names {a} / {b} differ",
        "romanized_exact": "names {a} / {b} match once the Chinese name is spelled in pinyin",
        "romanized_similar": "names {a} / {b} are close once spelled in pinyin",
        "romanized_different": "names {a} / {b} differ even in pinyin",
        "surname_only": "only a surname is known ({a} / {b}) and it agrees",
        "surname_different": "only a surname is known ({a} / {b}) and it differs",
        "latin_exact": "names {a} / {b} match (given and family name, either order)",
        "latin_similar": (
            "names {a} / {b} agree: the given and family names are close, sound alike"
            " or are nicknames of each other"
        ),
        "latin_initial": "names {a} / {b}: same family name, one given name is an initial",
        "latin_family_only": (
            "names {a} / {b}: same family name, different given names (a relative?)"
        ),
        "latin_different": "names {a} / {b} differ",
    },
    "id": {
        "exact": "same ID number",
        "typo": "ID numbers {a} / {b} differ by one typing slip",
        "different": "different ID numbers",
        "conflict": "two different valid ID numbers of one type: two people",
        "masked_compatible": "a masked ID fits the other ID",
        "masked_different": "a masked ID does not fit the other ID",
    },
    "birth_date": {
        "exact": "same birth date",
        "typo": "birth dates {a} / {b} differ by one keystroke",
        "day_month_swapped": "birth dates {a} / {b} agree with day and month swapped",
        "same_year": "born the same year, different days",
        "different": "different birth dates",
        "year_agrees": "birth years agree",
        "year_different": "birth years differ",
    },
    "mobile": {
        "exact": "same mobile number",
        "one_edit": "mobile numbers {a} / {b} differ by one digit",
        "different": "different mobile numbers",
        "phone_shared": "a phone number in common (perhaps a household's landline)",
        "phones_different": "no phone number in common",
    },
    "email": {
        "exact": "same email",
        "local_similar": "emails {a} / {b} differ by one typing slip",
        "different": "different emails",
    },
    "gender": {"agree": "same gender", "disagree": "different gender"},
    "address": {
        "exact": "same address",
        "fuzzy": "addresses are nearly the same",
        "number_street": "same house number on the same street, written differently",
        "same_postcode": "different addresses in the same postcode",
        "same_city": "different addresses in the same city",
        "different": "different addresses",
        "city_agrees": "same city",
        "city_typo": "cities {a} / {b} differ by a typo",
        "postcode_agrees": "same postcode",
        "city_different": "different cities",
    },
}
FIELD_OF = {"name": "full_name", "id": "id_number", "address": "address", "mobile": "mobile"}
LEVEL_FIELD = {("address", "city_typo"): "city"}  # levels whose sentence shows another field
TRADITIONAL_HINT = " after traditional → simplified"


@dataclass(frozen=True)
class Reason:
    comparison: str
    text: str
    weight: float  # log2 evidence: positive for "same person", negative against


def explain_parts(
    parts: dict[str, dict[str, Any]], left: dict[str, Any], right: dict[str, Any]
) -> list[Reason]:
    """A sentence per comparison that had something to compare, strongest evidence first."""
    reasons = []
    for comparison, part in parts.items():
        level = str(part.get("level"))
        template = SENTENCES.get(comparison, {}).get(level)
        if template is None:  # "null": a side lacks the value, no evidence either way
            continue
        field = LEVEL_FIELD.get((comparison, level)) or FIELD_OF.get(comparison, comparison)
        a, b = (mask_value(field, record.get(field)) or "—" for record in (left, right))
        text = template.format(a=a, b=b)
        if comparison == "name" and level == "exact" and a != b:
            text += TRADITIONAL_HINT
        reasons.append(Reason(comparison, text, float(part.get("weight", 0.0))))
    return sorted(reasons, key=lambda reason: -abs(reason.weight))
