"""Latin-script names, households and a degenerate model (issue 16)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from mdm.matching import match_records
from mdm.matching.compare import COMPARISONS, compare
from mdm.matching.features import prepare


def _records(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, index=[f"crm:{i}" for i in range(len(rows))])
    frame["name_key"] = frame["full_name"].str.lower()
    return frame


def test_latin_names_are_compared_apart_crossed_by_sound_nickname_and_initial() -> None:
    records = _records(
        [
            {"full_name": "William Smith"},
            {"full_name": "Bill Smith"},  # nickname
            {"full_name": "SMITH, William"},  # family first
            {"full_name": "W. Smith"},  # initial
            {"full_name": "Wiliam Smyth"},  # typo and sound
            {"full_name": "John Smith"},  # another person of the family
            {"full_name": "Jordan Mueller"},
            {"full_name": "Jirdan Muller"},  # one edit in the given name
        ]
    )
    f = prepare(records)
    levels = compare(f, np.array([0, 0, 0, 0, 0, 0, 6]), np.array([1, 2, 3, 4, 5, 6, 7]))
    names = [COMPARISONS["name"][code] for code in levels["name"]]
    assert names == [
        "latin_similar",
        "latin_exact",
        "latin_initial",
        "latin_similar",
        "latin_family_only",
        "latin_different",
        "latin_similar",
    ]


def test_given_and_family_columns_are_used_when_a_channel_maps_them() -> None:
    records = _records([{"full_name": "Anna Berg"}, {"full_name": "Berg Anna"}])
    records["given_name"] = [None, "Anna"]
    records["family_name"] = [None, "Berg"]
    f = prepare(records)
    assert f.given.take(np.arange(2)).tolist() == ["anna", "anna"]
    assert f.family.take(np.arange(2)).tolist() == ["berg", "berg"]


def test_household_members_sharing_surname_address_and_phone_stay_apart() -> None:
    home = {"address": "Studio 3 Hooper Manor", "city": "Dannyhaven", "mobile": "+447454137569"}
    records = _records(
        [
            {"full_name": "Denise Walker", "birth_date": "1954-05-24", **home},
            {"full_name": "Denise Walker", "birth_date": "1954-05-24", **home},
            {"full_name": "Amelia Walker", "birth_date": "1983-01-19", **home},
            {"full_name": "Amelia Walker", "birth_date": "1983-01-19", **home},
            {"full_name": "A. Walker", **home},  # could chain the two
        ]
    )
    clusters = match_records(records).clusters
    assert clusters.iloc[0] != clusters.iloc[2]


def test_a_degenerate_model_is_reported_and_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    """Strangers only: no pair is a match, EM's λ sinks to its floor."""
    records = _records(
        [
            {"full_name": name, "city": "Kleve", "birth_date": f"19{50 + i}-01-0{1 + i % 9}"}
            for i, name in enumerate(["Anna Berg", "Otto Lang", "Eva Roth", "Paul Kern"])
        ]
    )
    with caplog.at_level(logging.WARNING, logger="mdm.matching.train"):
        result = match_records(records)
    check = result.parameters["model_check"]
    assert check["degenerate"] is True
    assert any("lambda at its floor" in reason for reason in check["reasons"])
    assert "matching model degenerate: lambda at its floor" in caplog.text
    assert result.parameters["lambda"] == pytest.approx(1 / 4)  # the default model's 1/n


def test_one_of_two_spanish_surnames_agrees_with_both() -> None:
    """A form with room for one surname, a full name (its middle word kept with the family
    name), a second given name left off, still meet the register; another family does not."""
    records = _records(
        [
            {"full_name": "Ruth Moll Barceló", "given_name": "Ruth", "family_name": "Moll Barceló"},
            {"full_name": "RUTH MOLL"},
            {"full_name": "Ruth Moll Barceló"},  # split as Ruth / Moll Barceló
            {"full_name": "Moll Barcelo, Ruth Ana"},  # a second given name
            {"full_name": "Ruth Mlol Barceló"},  # a typo in one surname
            {"full_name": "Ruth Mollet Vidal"},
            {"full_name": "Ana Moll Barceló"},  # a sister
        ]
    )
    f = prepare(records)
    levels = compare(f, np.zeros(6, dtype=int), np.arange(1, 7))
    names = [COMPARISONS["name"][code] for code in levels["name"]]
    assert names == [
        "latin_similar",
        "latin_exact",
        "latin_similar",
        "latin_similar",
        "latin_different",
        "latin_family_only",
    ]


def test_namesakes_of_one_household_stay_apart_by_birth_year_and_gender() -> None:
    """A father and his son of one name (Jr./Sr.) at one address, and an initial that a
    man's record shares with a woman of his household, are two people however alike the rest;
    a birth date one keystroke off is still the same man."""
    home = {"address": "8 Norris Stravenue", "city": "Jacobstad", "phone_other": "+13344450815"}
    records = _records(
        [
            {"full_name": "David Green", "birth_date": "1977-11-21", "gender": "M", **home},
            {"full_name": "David Green", "birth_date": "1977-11-21", "gender": "M", **home},
            {"full_name": "David Green", "birth_date": "2002-09-16", "gender": "M", **home},
            {"full_name": "David Green", "birth_date": "2002-09-16", "gender": "M", **home},
            {"full_name": "David Green", "birth_date": "1977-11-12", "gender": "M", **home},
            {"full_name": "D. Green", "gender": "F", **home},
            {"full_name": "Diana Green", "birth_date": "1979-01-30", "gender": "F", **home},
        ]
    )
    pairs = match_records(records).pairs
    decision = {
        (int(a.split(":")[1]), int(b.split(":")[1])): d
        for a, b, d in zip(pairs["left_key"], pairs["right_key"], pairs["decision"], strict=True)
    }
    assert decision[(0, 2)] == decision[(1, 3)] == "cannot_link"  # father and son
    assert decision[(0, 4)] != "cannot_link"  # a transposed day: a typo, not another man
    assert decision[(0, 1)] != "cannot_link"
    assert decision[(0, 5)] == decision[(2, 5)] == "cannot_link"  # D. Green is a woman
    assert decision[(5, 6)] != "cannot_link"  # she may be Diana


def test_training_rules_are_added_for_comparisons_no_rule_leaves_free() -> None:
    """Records with a name, a birth date and a postcode only: every prediction rule blocks on
    the name or the birth date, so a postcode rule trains both, and its pairs are not scored."""
    rng = np.random.default_rng(5)
    given = ["anna", "otto", "eva", "paul", "lena", "max", "ida", "jan", "mia", "tom"]
    family = ["berg", "lang", "roth", "kern", "voss", "hahn", "wolf", "beck", "graf", "wirth"]
    rows = []
    for person in range(60):
        name = f"{given[person % 10].title()} {family[person // 6].title()}"
        born = f"19{50 + person % 40}-0{1 + person % 9}-1{person % 10}"
        postcode = f"{10000 + person * 7}"
        for _ in range(2):
            typo = rng.random() < 0.2
            rows.append(
                {
                    "full_name": name + ("e" if typo else ""),
                    "birth_date": born,
                    "postal_code": postcode,
                }
            )
    result = match_records(_records(rows))
    training = result.parameters["training"]
    assert "train_postcode" in training["training_only_rules"]
    assert result.parameters["comparisons"]["name"]["teaching_pairs"] > 0
    assert result.parameters["comparisons"]["birth_date"]["teaching_pairs"] > 0
    assert not result.parameters["model_check"]["degenerate"]
    assert not result.pairs["rules"].astype(str).str.contains("train_").any()


def _split_by_nameparser(full_name: str) -> tuple[str | None, str | None]:
    """What split_name made of every name before two plain words skipped nameparser."""
    from nameparser import HumanName

    from mdm.matching.latin import clean_part

    name = HumanName(full_name)
    if "," in full_name:
        given, family = clean_part(f"{name.first} {name.middle}"), clean_part(name.last)
    else:
        given, family = clean_part(name.first), clean_part(f"{name.middle} {name.last}")
    return (given, family) if given is not None and family is not None else (None, None)


@pytest.mark.parametrize("locale", ["en_US", "es_ES", "nl_NL", "de_DE", "tr_TR", "vi_VN", "pl_PL"])
def test_two_plain_words_split_as_nameparser_splits_them(locale: str) -> None:
    from faker import Faker

    from mdm.matching.latin import split_name

    fake = Faker(locale)
    fake.seed_instance(11)
    names = [f"{fake.first_name()} {fake.last_name()}" for _ in range(400)]
    names += [f"{fake.last_name()} {fake.first_name()}" for _ in range(200)]
    names += [fake.name() for _ in range(200)]
    # words nameparser reads as more than a name go to it still
    names += ["Louis XIV", "Ivan Petrovich", "Dr Smith", "Smith Jr", "Ludwig van", "Juan y"]
    # every locale here writes in Latin letters, so split_name gives all of them to a parser
    assert [split_name(n) for n in names] == [_split_by_nameparser(n) for n in names]
