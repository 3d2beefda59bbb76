"""The synthetic test bed (mdm generate): formats, determinism, ground truth, hard negatives."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml
from stdnum.cn import ric

from mdm.schema import CANONICAL_FIELDS
from mdm.testbed.generate import (
    AS_OF,
    BRANCH_HEADER,
    CALLCENTER_HEADER,
    CHANNEL_FILES,
    CHANNELS,
    FUND_HEADER,
    THIRDPARTY_HEADER,
    TRANSACTION_FEEDS,
    TRANSACTION_FILES,
    GenerateSummary,
    draw,
    generate,
)
from mdm.testbed.population import CN, HOMOPHONE_GROUPS, REGIONS, People, make_people

CUSTOMERS = 300
SEED = 11
ALL_FILES = [*CHANNEL_FILES.values(), *TRANSACTION_FILES.values(), "channels.yaml", "truth.csv"]
APP_KEYS = [
    "user_id", "name", "gender", "birthday", "id_type", "id_no", "mobile", "email", "city",
    "updated_at", "marketing_opt_in",
]  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary]:
    out = tmp_path_factory.mktemp("bed")
    return out, generate(out, customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def out(generated: tuple[Path, GenerateSummary]) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def people() -> People:
    return draw(CUSTOMERS, SEED)[0]


@pytest.fixture(scope="module")
def truth(out: Path) -> list[dict[str, str]]:
    with (out / "truth.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _csv_rows(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def _fund_rows(out: Path) -> list[tuple[object, ...]]:
    wb = openpyxl.load_workbook(out / CHANNEL_FILES["fund"], read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return rows


def _app_rows(out: Path) -> list[dict[str, object]]:
    lines = (out / CHANNEL_FILES["app"]).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _table(rows: Sequence[Sequence[object]]) -> list[dict[str, object]]:
    header = [str(c) for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _records(out: Path) -> dict[str, list[dict[str, object]]]:
    """Every channel's rows as dicts keyed by the source header, in file order."""
    return {
        "branch": _table(_csv_rows(out / CHANNEL_FILES["branch"], "gb18030")),
        "app": _app_rows(out),
        "fund": _table(_fund_rows(out)),
        "callcenter": _table(_csv_rows(out / CHANNEL_FILES["callcenter"], "utf-8-sig")),
        "thirdparty": _table(_csv_rows(out / CHANNEL_FILES["thirdparty"], "utf-8")),
    }


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(out: Path, tmp_path: Path) -> None:
    generate(tmp_path, customers=CUSTOMERS, seed=SEED)
    for name in ALL_FILES:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_output_does_not_depend_on_string_hashing(out: Path, tmp_path: Path) -> None:
    code = (
        "from pathlib import Path; from mdm.testbed.generate import generate; "
        f"generate(Path({str(tmp_path)!r}), customers={CUSTOMERS}, seed={SEED})"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).parents[1])
    for name in ALL_FILES:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_different_seed_gives_different_data(out: Path, tmp_path: Path) -> None:
    generate(tmp_path, customers=CUSTOMERS, seed=SEED + 1)
    for name in CHANNEL_FILES.values():
        assert (tmp_path / name).read_bytes() != (out / name).read_bytes(), name


# --- formats --------------------------------------------------------------------------------


def test_branch_is_gb18030_with_chinese_headers(out: Path) -> None:
    data = (out / CHANNEL_FILES["branch"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = _csv_rows(out / CHANNEL_FILES["branch"], "gb18030")
    assert rows[0] == BRANCH_HEADER
    body = rows[1:]
    ids = [r[5] for r in body]
    assert any(re.fullmatch(r"\d{15}", i) for i in ids), "legacy 15-digit ids"
    assert any(i.endswith("x") for i in ids), "lowercase x check digits"
    births = [r[3] for r in body]
    assert any(re.fullmatch(r"\d{8}", b) for b in births)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", b) for b in births)
    assert any(re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", b) for b in births)
    assert {r[2] for r in body} <= {"男", "女", ""}
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+\.\d\d", r[9]) for r in body), "thousands separators"


def test_branch_has_people_under_two_customer_numbers(
    out: Path, truth: list[dict[str, str]]
) -> None:
    per_person = Counter(t["person_id"] for t in truth if t["source_system"] == "branch")
    assert max(per_person.values()) >= 2


def test_app_is_json_lines_with_masked_ids(out: Path) -> None:
    rows = _app_rows(out)
    assert all(list(r) == APP_KEYS for r in rows)
    ids = [r["id_no"] for r in rows if isinstance(r["id_no"], str)]
    assert any(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", i) for i in ids)
    assert {r["gender"] for r in rows} <= {"male", "female", "M", "F", None}
    assert any(str(r["mobile"]).startswith("+86 1") for r in rows)
    for r in rows:
        assert datetime.fromisoformat(str(r["updated_at"])).utcoffset() is not None
        assert isinstance(r["marketing_opt_in"], bool)


def test_fund_is_xlsx_with_its_quirks(out: Path) -> None:
    rows = _fund_rows(out)
    assert list(rows[0]) == FUND_HEADER
    body = rows[1:]
    ids = [str(r[3]) for r in body if r[3]]
    assert any(re.search("[０-９]", i) for i in ids), "full-width digits"
    births = [r[5] for r in body if r[5] is not None]
    assert any(isinstance(b, str) and re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", b) for b in births)
    assert any(isinstance(b, datetime) for b in births), "real Excel date cells"
    assert {r[7] for r in body} <= {"保守型", "稳健型", "平衡型", "成长型", "进取型"}
    assert {r[9] for r in body} <= {"R1", "R2", "R3", "R4", "R5"}
    amounts = [r[6] for r in body if r[6] is not None]
    assert all(isinstance(a, int | float) for a in amounts)
    assert max(float(str(a)) for a in amounts) < 100_000, "amounts are in 万元"


def test_callcenter_is_utf8_bom_with_traditional_names(out: Path) -> None:
    data = (out / CHANNEL_FILES["callcenter"]).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(out / CHANNEL_FILES["callcenter"], "utf-8-sig")
    assert rows[0] == CALLCENTER_HEADER
    callers = [r[1] for r in rows[1:]]
    assert any(re.fullmatch(r".{1,2}(先生|女士)", c) for c in callers)
    traditional = set("陳張劉黃趙楊吳鄭國偉華麗紅軍強傑濤鵬龍")
    assert any(set(c) & traditional for c in callers)
    phones = [r[2] for r in rows[1:]]
    assert any(p.startswith("0086 ") for p in phones)
    assert any(re.fullmatch(r"1\d\d-\d{4}-\d{4}", p) for p in phones)


def test_thirdparty_has_pinyin_names_and_birth_years(out: Path) -> None:
    rows = _csv_rows(out / CHANNEL_FILES["thirdparty"], "utf-8")
    assert rows[0] == THIRDPARTY_HEADER
    names = [r[1] for r in rows[1:] if r[1]]
    assert all(n.isascii() for n in names)
    assert any(n.isupper() for n in names) and any(n.islower() for n in names)
    assert all(re.fullmatch(r"(19|20)\d\d", r[4]) for r in rows[1:] if r[4])


# --- ground truth ---------------------------------------------------------------------------


def test_truth_covers_every_source_row(
    generated: tuple[Path, GenerateSummary], truth: list[dict[str, str]]
) -> None:
    out, summary = generated
    id_column = {"branch": "客户号", "app": "user_id", "fund": "账户号", "callcenter": "工单号",
                 "thirdparty": "lead_id"}  # fmt: skip
    records = _records(out)
    for channel in CHANNELS:
        file_ids = [str(r[id_column[channel]]) for r in records[channel]]
        truth_ids = [t["source_record_id"] for t in truth if t["source_system"] == channel]
        assert file_ids == truth_ids, channel
        assert len(set(file_ids)) == len(file_ids), f"{channel}: record ids are unique"
        assert summary.rows_per_channel[channel] == len(file_ids)
    assert summary.truth_rows == len(truth) == sum(summary.rows_per_channel.values())
    assert summary.persons == CUSTOMERS
    assert 2.2 <= len(truth) / CUSTOMERS <= 2.7
    assert {t["person_id"] for t in truth} <= {f"P{i:07d}" for i in range(1, CUSTOMERS + 1)}


def test_resident_ids_are_valid() -> None:
    people = make_people(3000, np.random.default_rng(3), AS_OF)
    resident = [people.id_number[p] for p in range(3000) if people.kind[p] == CN]
    assert len(resident) > 2500
    assert all(ric.is_valid(i) for i in resident)
    assert len(set(people.id_number)) == 3000


def test_only_corrupted_ids_in_files_are_invalid(
    out: Path, people: People, truth: list[dict[str, str]]
) -> None:
    person = {
        (t["source_system"], t["source_record_id"]): int(t["person_id"][1:]) - 1 for t in truth
    }
    records = _records(out)
    columns = {
        "branch": ("客户号", "证件号码"),
        "fund": ("账户号", "证件号码"),
        "app": ("user_id", "id_no"),
    }
    seen: Counter[str] = Counter()
    for channel, (rid_col, id_col) in columns.items():
        for row in records[channel]:
            number = unicodedata.normalize("NFKC", str(row[id_col] or "")).upper()
            p = person[(channel, str(row[rid_col]))]
            if people.kind[p] != CN or len(number) != 18 or "*" in number:
                continue
            if number == people.id_number[p]:
                seen["true"] += 1
            else:  # a deliberate typo: exactly one digit differs and the check digit catches it
                seen["typo"] += 1
                assert not ric.is_valid(number)
                diff = [a != b for a, b in zip(number, people.id_number[p], strict=True)]
                assert sum(diff) == 1
    assert seen["true"] > 20 * seen["typo"]


# --- hard negatives -------------------------------------------------------------------------


def _mobile_digits(value: object) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(value or "")))
    return digits[-11:] if len(digits) >= 11 else ""


def test_spouses_share_a_mobile_in_the_files(
    out: Path, people: People, truth: list[dict[str, str]]
) -> None:
    phone_column = {"branch": "手机号码", "app": "mobile", "fund": "手机", "callcenter": "联系电话",
                    "thirdparty": "phone"}  # fmt: skip
    owners: dict[str, set[str]] = defaultdict(set)
    for channel, rows in _records(out).items():
        persons = [t["person_id"] for t in truth if t["source_system"] == channel]
        for row, person_id in zip(rows, persons, strict=True):
            if mobile := _mobile_digits(row[phone_column[channel]]):
                owners[mobile].add(person_id)
    shared = [ids for ids in owners.values() if len(ids) > 1]
    assert shared, "no mobile shared by two different persons"
    spouses = {frozenset(people.person_id[q] for q in pair) for pair in people.spouse_pairs}
    assert any(frozenset(ids) in spouses for ids in shared)


def test_spouses_share_an_address(people: People) -> None:
    assert people.spouse_pairs
    for a, b in people.spouse_pairs:
        assert people.address[a] == people.address[b]
        assert people.id_number[a] != people.id_number[b]
        assert people.male[a] != people.male[b]


def test_twins_share_surname_birth_date_and_address(
    people: People, truth: list[dict[str, str]]
) -> None:
    assert people.twin_pairs
    in_branch = {t["person_id"] for t in truth if t["source_system"] == "branch"}
    for a, b in people.twin_pairs:
        assert people.surname[a] == people.surname[b]
        assert people.birth[a] == people.birth[b]
        assert people.address[a] == people.address[b]
        assert people.given[a] != people.given[b]
        assert people.id_number[a] != people.id_number[b]
        assert ric.is_valid(people.id_number[b])
        assert {people.person_id[a], people.person_id[b]} <= in_branch


def test_many_different_people_share_the_common_names() -> None:
    people = make_people(20_000, np.random.default_rng(5), AS_OF)
    names = Counter(people.name(p) for p in range(20_000))
    top = names.most_common(10)
    assert sum(n for _, n in top) >= 300
    assert names["张伟"] >= 20
    zhang_wei = [p for p in range(20_000) if people.name(p) == "张伟"]
    assert len({people.id_number[p] for p in zhang_wei}) == len(zhang_wei)
    assert len({people.mobile[p] for p in zhang_wei}) == len(zhang_wei)


def test_homophone_groups_are_disjoint() -> None:
    chars = "".join(HOMOPHONE_GROUPS)
    assert len(chars) == len(set(chars))


def test_region_codes_are_accepted_from_their_first_year() -> None:
    for region in REGIONS:
        body = f"{region.code}{max(region.since, 1950)}0101001"
        assert ric.is_valid(body + ric.calc_check_digit(body + "0")), region


# --- channels.yaml --------------------------------------------------------------------------


def _headers(out: Path) -> dict[str, list[str]]:
    return {
        "branch": BRANCH_HEADER,
        "app": list(_app_rows(out)[0]),
        "fund": [str(c) for c in _fund_rows(out)[0]],
        "callcenter": _csv_rows(out / CHANNEL_FILES["callcenter"], "utf-8-sig")[0],
        "thirdparty": _csv_rows(out / CHANNEL_FILES["thirdparty"], "utf-8")[0],
    }


def test_channels_yaml_maps_every_channel_onto_canonical_fields(out: Path) -> None:
    text = (out / "channels.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Generated") and f"seed {SEED}" in text.splitlines()[0]
    every = yaml.safe_load(text)["channels"]
    channels = {name: c for name, c in every.items() if c.get("kind") != "transactions"}
    assert list(channels) == list(CHANNELS)
    assert {name: c["ref_channel"] for name, c in every.items() if name not in channels} == (
        TRANSACTION_FEEDS
    )
    headers = _headers(out)
    trust = {"branch": 90, "fund": 80, "app": 70, "callcenter": 50, "thirdparty": 20}
    for name, channel in channels.items():
        assert (out / channel["path"]).is_file()
        assert channel["trust"] == trust[name]
        assert set(channel["columns"]) <= set(CANONICAL_FIELDS), name
        assert channel["record_id"] in headers[name]
        for column in channel["columns"].values():
            assert column in headers[name], (name, column)
    assert channels["fund"]["units"] == {"aum_cny": "wan"}
    encodings = {name: c.get("encoding", "utf-8") for name, c in channels.items()}
    assert encodings["branch"] == "gb18030" and encodings["callcenter"] == "utf-8-sig"


def test_transactions_book_against_source_records_of_their_channel(out: Path) -> None:
    record_ids = {
        "branch": {str(row[0]) for row in _csv_rows(out / CHANNEL_FILES["branch"], "gb18030")[1:]},
        "fund": {str(row[0]) for row in _fund_rows(out)[1:]},
    }
    for feed, channel in TRANSACTION_FEEDS.items():
        rows = _csv_rows(out / TRANSACTION_FILES[feed], "utf-8")[1:]
        assert len(rows) > 100
        known = [row[1] in record_ids[channel] for row in rows]
        # nearly all link to a record; a few name an account no file holds (for the quarantine)
        assert 0 < known.count(False) < 0.03 * len(rows)
        assert len({row[1] for row in rows}) > 10  # spread over many accounts
