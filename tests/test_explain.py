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
        "same resident ID",
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
