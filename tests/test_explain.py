"""The parts of a match score in a steward's words."""

from __future__ import annotations

from mdm.stewardship.explain import explain_parts


def test_parts_become_sentences_strongest_first_with_identifiers_masked() -> None:
    parts = {
        "name": {"level": "exact", "weight": 7.7},
        "id": {"level": "exact", "weight": 12.0},
        "mobile": {"level": "one_edit", "weight": 2.0},
        "email": {"level": "null", "weight": 0.0},
        "address": {"level": "different", "weight": -3.5},
    }
    left = {"full_name": "陈丽", "id_number": "110101199003077777", "mobile": "+8613812345678"}
    right = {"full_name": "陳麗", "id_number": "110101199003077777", "mobile": "+8613812345679"}
    reasons = explain_parts(parts, left, right)
    assert [r.text for r in reasons] == [
        "same ID number",
        "names 陈丽 / 陳麗 match after traditional → simplified",
        "different addresses",
        "mobile numbers +86138****5678 / +86138****5679 differ by one digit",
    ]
    assert [r.weight for r in reasons] == [12.0, 7.7, -3.5, 2.0]


def test_identical_names_need_no_conversion_note() -> None:
    reasons = explain_parts(
        {"name": {"level": "exact", "weight": 5.0}}, {"full_name": "王伟"}, {"full_name": "王伟"}
    )
    assert [r.text for r in reasons] == ["names 王伟 / 王伟 match"]


def test_every_level_of_every_comparison_has_a_sentence() -> None:
    # A level without one would vanish from "why these matched" in the workbench.
    from mdm.matching.compare import COMPARISONS
    from mdm.stewardship.explain import SENTENCES

    missing = [
        f"{comparison}.{level}"
        for comparison, levels in COMPARISONS.items()
        for level in levels
        if level not in SENTENCES.get(comparison, {})
    ]
    assert missing == []
    extra = [
        f"{comparison}.{level}"
        for comparison, sentences in SENTENCES.items()
        for level in sentences
        if level not in COMPARISONS.get(comparison, ())
    ]
    assert extra == []


def test_a_city_typo_shows_both_cities() -> None:
    [reason] = explain_parts(
        {"address": {"level": "city_typo", "weight": 1.5}},
        {"city": "Zaragoza"},
        {"city": "Zaragosa"},
    )
    assert reason.text == "cities Zaragoza / Zaragosa differ by a typo"
