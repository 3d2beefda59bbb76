"""Synthetic test bed: ``mdm generate OUT_DIR --customers N --seed S``.

Generates N people (the ground truth), spreads them over the five channels of SPEC §1 with each
channel's format quirks, corrupts the source records the way real exports are corrupted, and
writes ``channels.yaml`` plus ``truth.csv`` (source record -> person_id). Output is a pure function
of (customers, seed, as_of): byte-identical for the same arguments.

Population (per person):

=============================  ===========================================================
foreigners (PASSPORT)          3 %, latin names
HK/Macau residents             0.5 %, HKMO_PERMIT ``H12345678`` / ``M12345678``
top-60 common full names       7 % of Chinese persons (张伟, 王芳, 李娜 …), the rest from
                               frequency-weighted surnames and given-name characters
spouse pairs                   2 % of persons: same address, the wife/husband's branch record
                               carries the partner's mobile (household phone)
twin pairs                     1 %: same surname, birth date, birthplace code and address,
                               different (often homophone) given names and IDs
changed mobile                 10 %: records older than the change show the old number
moved                          12 %: records older than the move show the old address/city
channels per person            1/2/3/4 with p .24/.36/.25/.15, weighted towards branch and
                               app; both members of a pair are always in branch
source rows per person         2.4 on average (second records included)
AUM                            log-normal, median 120,000 yuan; 3 % zero. Share at or above
                               50k / 200k / 500k / 2M: about 69 / 37 / 18 / 4 %
risk assessment                C1..C5 (15/33/30/16/6 %), within the last 2 years; records
                               older than it show the previous assessment (often ±1 level)
=============================  ===========================================================

Every record has an update time in the last three years (purchased leads: 1.5-3 years ago);
the time decides which mobile, address and risk assessment the record shows.

Corruption (per source record, probability):

==================================  ======  ==================================================
homophone typo in the given name     3 %    all channels with Chinese names (丽→莉, 伟→玮 …)
phone digits transposed              2 %    all channels (not for pair members' branch rows)
phone missing                        4 %    all but callcenter (1 %)
birth date missing                   3 %    branch, app, fund
birth day/month swapped             1.5 %   branch, app, fund (only when day <= 12)
impossible birth date               0.3 %   branch, app, fund (2099-01-01 or 1850-…)
ID missing                          1/10/2  branch / app / fund
ID digit typo (bad check digit)      1 %    full resident IDs in branch, app, fund
legacy 15-digit resident ID         30 %    branch, people born before 1985
lowercase ``x`` check digit         50/20   branch / fund, IDs ending in X
masked ID ``110101********1234``    45 %    app, resident IDs
full-width digits                   20/10   fund ID / fund phone
inner space in name (``张 伟``)      2 %    app
traditional characters              85 %    callcenter (opencc s2t)
caller known as 王先生 / 李女士       20 %    callcenter, Chinese persons
address missing                      4 %    branch
no name and no identifier           0.3 %   all (name, ID, phone, email blanked)
second branch outlet / manager       10 %   branch
product risk above the risk level    5 %    fund (最高产品风险 one above 风险承受能力)
==================================  ======  ==================================================

Branch rows of spouse and twin pair members are never blanked, emptied or phone-transposed, so
that the hard negatives stay visible side by side.

Second records in one channel: 5 % of branch customers have a second 客户号, 4 % of app users
re-registered with a second user_id. Both carry their own corruption draws.

Transactions (SPEC §2): two feeds, ``branch_transactions.csv`` booked against branch 客户号 and
``fund_transactions.csv`` against fund 账户号, so a person's transactions reach one golden
customer only through customer_xref. 30 % of persons never transact, 20 % stopped 100-600 days
before the reference date; 2 % of the sales that would be unsuitable stay so (a product above the
person's risk level), and 0.5 % of rows name an account that no customer file holds (they belong
in quarantine).
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import opencc
import yaml
from openpyxl import Workbook

from mdm.testbed import population as gd
from mdm.testbed.evaluate import write_truth
from mdm.testbed.population import CN, DAY, FOREIGN, HISTORY, I64, People, Rng, make_people

AS_OF = date(2025, 6, 30)  # reference "today"; fixed so that output never depends on the clock
CHANNELS: tuple[str, ...] = ("branch", "app", "fund", "callcenter", "thirdparty")
CHANNEL_FILES: dict[str, str] = {
    "branch": "branch_customers.csv",
    "app": "app_users.jsonl",
    "fund": "fund_platform.xlsx",
    "callcenter": "callcenter_contacts.csv",
    "thirdparty": "thirdparty_leads.csv",
}
# Transactions feeds (SPEC §2): one per channel whose accounts they book against.
TRANSACTION_FEEDS: dict[str, str] = {"branch_txn": "branch", "fund_txn": "fund"}
TRANSACTION_FILES: dict[str, str] = {
    "branch_txn": "branch_transactions.csv",
    "fund_txn": "fund_transactions.csv",
}


@dataclass(frozen=True)
class GenerateSummary:
    out_dir: Path
    persons: int
    rows_per_channel: dict[str, int]  # channel name -> rows written
    truth_rows: int
    rows_per_feed: dict[str, int] = field(default_factory=dict)  # transactions feed -> rows


def generate(out_dir: Path, *, customers: int, seed: int, as_of: date = AS_OF) -> GenerateSummary:
    """Write the five channel files, channels.yaml and truth.csv for `customers` people."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    people, records, channel_rngs = draw(customers, seed, as_of)
    truth: list[list[str]] = []
    rows_per_channel: dict[str, int] = {}
    written_by: dict[str, RowIds] = {}
    for name in CHANNELS:
        path = out_dir / CHANNEL_FILES[name]
        written = _WRITERS[name](path, people, records[name], channel_rngs[name], as_of)
        truth.extend([name, rid, people.person_id[p]] for rid, p in written)
        rows_per_channel[name] = len(written)
        written_by[name] = written
    # A stream of its own (the next spawned child), so the channels above keep their bytes.
    txn_seed = np.random.SeedSequence(seed).spawn(3 + len(CHANNELS))[-1]
    txn_rng = np.random.default_rng(txn_seed)
    activity = _activity(len(people.person_id), txn_rng)
    rows_per_feed: dict[str, int] = {}
    for feed, channel in TRANSACTION_FEEDS.items():
        rows_per_feed[feed] = _write_transactions(
            out_dir / TRANSACTION_FILES[feed], feed, people, written_by[channel], activity,
            txn_rng, as_of,
        )  # fmt: skip
    write_truth(out_dir / "truth.csv", truth)
    _write_channels_yaml(out_dir / "channels.yaml", customers, seed, as_of)
    return GenerateSummary(out_dir, customers, rows_per_channel, len(truth), rows_per_feed)


def draw(
    customers: int, seed: int, as_of: date = AS_OF
) -> tuple[People, dict[str, Records], dict[str, Rng]]:
    """The people, their source records per channel, and each channel's corruption stream."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    # Independent streams, so that changing one channel's draws never reshuffles the others.
    people_seed, assign_seed, *channel_seeds = np.random.SeedSequence(seed).spawn(2 + len(CHANNELS))
    people = make_people(customers, np.random.default_rng(people_seed), as_of)
    records = assign_records(people, np.random.default_rng(assign_seed))
    rngs = {name: np.random.default_rng(s) for name, s in zip(CHANNELS, channel_seeds, strict=True)}
    return people, records, rngs


# ---------------------------------------------------------------------------------------------
# Records: which person, in which channel, as of when


@dataclass(frozen=True)
class Records:
    """One channel's source records: which person each is, and when it was last updated
    (seconds relative to the reference date)."""

    person: I64
    ts: I64


_CHANNEL_WEIGHT = np.array([1.0, 0.8, 0.3, 0.3, 0.35])  # how likely a person is in each channel
_CHANNELS_PER_PERSON = [0.24, 0.36, 0.25, 0.15]  # P(1..4 channels)
_SECOND_RECORD = {"branch": 0.05, "app": 0.04}  # duplicate 客户号 / app re-registration


def assign_records(people: People, rng: Rng) -> dict[str, Records]:
    """Which channels hold each person, and the update time of every source record."""
    n = len(people.person_id)
    k = rng.choice(np.arange(1, 5), size=n, p=_CHANNELS_PER_PERSON)
    # Gumbel top-k: k distinct channels per person, weighted, without a Python loop.
    keys = np.log(_CHANNEL_WEIGHT) + rng.gumbel(size=(n, len(CHANNELS)))
    member = np.argsort(np.argsort(-keys, axis=1), axis=1) < k[:, None]
    member[sorted(people.paired()), CHANNELS.index("branch")] = True  # hard negatives side by side
    out: dict[str, Records] = {}
    for c, name in enumerate(CHANNELS):
        copies = member[:, c].astype(np.int64)
        copies += member[:, c] & (rng.random(n) < _SECOND_RECORD.get(name, 0.0))
        person = rng.permutation(np.repeat(np.arange(n), copies))
        latest = -HISTORY // 2 if name == "thirdparty" else 0  # purchased lists are stale
        out[name] = Records(person, rng.integers(-HISTORY, latest, len(person)))
    return out


@dataclass(frozen=True)
class _Snapshot:
    """Per record: the person's contact details and risk assessment as of the record's time."""

    mobile: list[str]
    city: list[str]
    address: list[str]
    risk: list[int]
    risk_on: list[date]
    when: list[datetime]


def _snapshot(people: People, rec: Records, as_of: date) -> _Snapshot:
    p, ts = rec.person, rec.ts
    old_phone = np.array([bool(m) for m in people.old_mobile])[p] & (ts < people.mobile_changed[p])
    old_home = np.array([bool(a) for a in people.old_address])[p] & (ts < people.moved[p])
    old_risk = ts < people.risk_on[p] * DAY
    risk_days = np.where(old_risk, people.prev_risk_on[p], people.risk_on[p])
    persons = p.tolist()

    def pick(now: list[str], before: list[str], stale: npt.NDArray[np.bool_]) -> list[str]:
        return [before[q] if s else now[q] for q, s in zip(persons, stale.tolist(), strict=True)]

    return _Snapshot(
        mobile=pick(people.mobile, people.old_mobile, old_phone),
        city=pick(people.city, people.old_city, old_home),
        address=pick(people.address, people.old_address, old_home),
        risk=np.where(old_risk, people.prev_risk[p], people.risk[p]).tolist(),
        risk_on=(np.datetime64(as_of, "D") + risk_days).tolist(),
        when=(np.datetime64(as_of, "s") + ts).tolist(),
    )


# ---------------------------------------------------------------------------------------------
# Corruption of single values

_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_IMPOSSIBLE_BIRTH = (date(2099, 1, 1), date(1850, 6, 15))


class _Draws:
    """A channel's random choices per record: a coin per corruption, a salt for value-level
    choices (which digit, which homophone) and style picks 0-9 for formats."""

    def __init__(self, rng: Rng, n: int, probs: Mapping[str, float], styles: int) -> None:
        self.coin = {name: (rng.random(n) < prob).tolist() for name, prob in probs.items()}
        self.salt: list[int] = rng.integers(0, 1 << 30, n).tolist()
        self.style: list[list[int]] = rng.integers(0, 10, (n, styles)).tolist()


def _name(people: People, p: int, typo: bool, salt: int) -> str:
    if typo and people.kind[p] != FOREIGN:
        return people.surname[p] + gd.homophone_variant(people.given[p], salt)
    return people.name(p)


def _transpose(phone: str, salt: int) -> str:
    """Swap two adjacent different digits after the 3-digit prefix."""
    for j in range(7):
        i = 3 + (salt + j) % 7
        if phone[i] != phone[i + 1]:
            return phone[:i] + phone[i + 1] + phone[i] + phone[i + 2 :]
    return phone


def _id_typo(rid: str, salt: int) -> str:
    """Mistype one digit before the check digit: MOD 11-2 then no longer matches."""
    i = salt % 17
    return rid[:i] + str((int(rid[i]) + 1 + salt // 17 % 9) % 10) + rid[i + 1 :]


def _mask(rid: str) -> str:
    return rid[:6] + "*" * 8 + rid[-4:]


def _stated_birth(d: date, swap: bool, impossible: bool, salt: int) -> date:
    if impossible:
        return _IMPOSSIBLE_BIRTH[salt % 2]
    if swap and d.day <= 12 and d.day != d.month:
        return date(d.year, d.day, d.month)
    return d


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _serials(rng: Rng, n: int, start: int) -> list[int]:
    """Increasing account numbers with gaps, as a core system hands them out."""
    return (start + np.cumsum(rng.integers(1, 40, n))).tolist()


# ---------------------------------------------------------------------------------------------
# Channel writers. Each returns (record_id, person) for every row, in file order.

RowIds = list[tuple[str, int]]
_Cell = str | int | float | date | None

BRANCH_HEADER = [
    "客户号", "姓名", "性别", "出生日期", "证件类型", "证件号码", "手机号码", "联系地址", "城市",
    "资产余额(元)", "风险等级", "风险评估日期", "客户经理", "网点号", "更新时间",
]  # fmt: skip
_BRANCH_P = {
    "typo": 0.03, "transpose": 0.02, "no_phone": 0.04, "no_birth": 0.03, "swap": 0.015,
    "impossible": 0.003, "no_id": 0.01, "bad_id": 0.01, "legacy": 0.30, "lower_x": 0.5,
    "no_address": 0.04, "no_gender": 0.01, "empty": 0.003, "other_branch": 0.10,
}  # fmt: skip


def _branch_birth(d: date, style: int) -> str:
    if style < 4:
        return f"{d:%Y%m%d}"
    return d.isoformat() if style < 8 else f"{d.year}/{d.month}/{d.day}"


def _branch_id(rid: str, birth: date, coin: dict[str, list[bool]], i: int, salt: int) -> str:
    if coin["legacy"][i] and birth.year < 1985:
        return rid[:6] + rid[8:17]  # 15-digit form: no century, no check digit
    if coin["bad_id"][i]:
        rid = _id_typo(rid, salt)
    return rid.lower() if coin["lower_x"][i] else rid


def _write_branch(path: Path, people: People, rec: Records, rng: Rng, as_of: date) -> RowIds:
    n = len(rec.person)
    d = _Draws(rng, n, _BRANCH_P, styles=2)
    aum = (people.aum[rec.person] * rng.uniform(0.85, 1.15, n)).tolist()  # balances move
    snap = _snapshot(people, rec, as_of)
    paired = people.paired()
    ids, rows = [], []
    serials = _serials(rng, n, 6_200_000_000)
    for i, p in enumerate(rec.person.tolist()):
        coin, salt, style = d.coin, d.salt[i], d.style[i]
        kind, keep = int(people.kind[p]), p in paired  # hard negatives stay recognisable
        birth = _stated_birth(people.birth[p], coin["swap"][i], coin["impossible"][i], salt)
        rid = people.id_number[p]
        rid = _branch_id(rid, people.birth[p], coin, i, salt) if kind == CN else rid
        spouse = int(people.household_phone_of[p])
        mobile = people.mobile[spouse] if spouse >= 0 else snap.mobile[i]
        if coin["transpose"][i] and not keep:
            mobile = _transpose(mobile, salt)
        name = _name(people, p, coin["typo"][i], salt).upper()
        if coin["empty"][i] and not keep:
            name = rid = mobile = ""
        b = int(people.branch[p])
        if coin["other_branch"][i]:  # opened at another outlet of the same city
            b = b // 3 * 3 + (b + 1 + style[1] % 2) % 3
        rows.append([
            serials[i], name, "" if coin["no_gender"][i] else "男" if people.male[p] else "女",
            "" if coin["no_birth"][i] else _branch_birth(birth, style[0]),
            gd.ID_TYPE_BRANCH[kind], "" if coin["no_id"][i] else rid,
            "" if coin["no_phone"][i] and not keep else mobile,
            "" if coin["no_address"][i] else snap.address[i], snap.city[i], f"{aum[i]:,.2f}",
            f"C{snap.risk[i]}", snap.risk_on[i].isoformat(), people.rm_names[b * 3 + p % 3],
            f"{b // 3 + 1:02d}{b % 3 + 1:03d}", f"{snap.when[i]:%Y-%m-%d %H:%M:%S}",
        ])  # fmt: skip
        ids.append((str(serials[i]), p))
    _write_csv(path, BRANCH_HEADER, rows, "gb18030")
    return ids


_APP_P = {
    "typo": 0.03, "space": 0.02, "transpose": 0.02, "no_phone": 0.04, "no_birth": 0.03,
    "swap": 0.015, "impossible": 0.003, "no_id": 0.10, "bad_id": 0.01, "masked": 0.45,
    "no_email": 0.15, "no_gender": 0.02, "empty": 0.003,
}  # fmt: skip


def _app_mobile(m: str, style: int) -> str:
    if style < 7:
        return f"+86 {m[:3]} {m[3:7]} {m[7:]}"
    return m if style < 9 else "+86" + m


def _app_gender(male: bool, style: int) -> str:
    words = ("male", "female") if style < 6 else ("M", "F")
    return words[0] if male else words[1]


def _write_app(path: Path, people: People, rec: Records, rng: Rng, as_of: date) -> RowIds:
    n = len(rec.person)
    d = _Draws(rng, n, _APP_P, styles=2)
    snap = _snapshot(people, rec, as_of)
    ids, lines = [], []
    serials = _serials(rng, n, 100_000_000)
    for i, p in enumerate(rec.person.tolist()):
        coin, salt, style = d.coin, d.salt[i], d.style[i]
        kind, blank = int(people.kind[p]), coin["empty"][i]
        name = _name(people, p, coin["typo"][i], salt)
        if coin["space"][i] and kind != FOREIGN:
            cut = len(people.surname[p])
            name = name[:cut] + " " + name[cut:]
        rid = people.id_number[p]
        if kind == CN:
            rid = _id_typo(rid, salt) if coin["bad_id"][i] else rid
            rid = _mask(people.id_number[p]) if coin["masked"][i] else rid
        mobile = _transpose(snap.mobile[i], salt) if coin["transpose"][i] else snap.mobile[i]
        birth = _stated_birth(people.birth[p], coin["swap"][i], coin["impossible"][i], salt)
        no_id = coin["no_id"][i] or blank
        obj = {
            "user_id": f"U{serials[i]}",
            "name": None if blank else name,
            "gender": None if coin["no_gender"][i] else _app_gender(bool(people.male[p]), style[0]),
            "birthday": None if coin["no_birth"][i] else birth.isoformat(),
            "id_type": None if no_id else gd.ID_TYPE_CODES[kind],
            "id_no": None if no_id else rid,
            "mobile": None if coin["no_phone"][i] or blank else _app_mobile(mobile, style[1]),
            "email": None if coin["no_email"][i] or blank else people.email[p],
            "city": snap.city[i],
            "updated_at": f"{snap.when[i]:%Y-%m-%dT%H:%M:%S}+08:00",
            "marketing_opt_in": bool(people.marketing[p]),
        }
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
        ids.append((f"U{serials[i]}", p))
    path.write_text("".join(lines), encoding="utf-8")
    return ids


FUND_HEADER = [
    "账户号", "客户姓名", "证件类型", "证件号码", "手机", "出生日期", "持仓市值(万元)",
    "风险承受能力", "评估日期", "最高产品风险",
]  # fmt: skip
_FUND_P = {
    "typo": 0.03, "transpose": 0.02, "no_phone": 0.04, "no_birth": 0.03, "swap": 0.015,
    "impossible": 0.003, "no_id": 0.02, "bad_id": 0.01, "lower_x": 0.2, "wide_id": 0.2,
    "wide_phone": 0.1, "no_aum": 0.02, "over_risk": 0.05, "empty": 0.003,
}  # fmt: skip


def _fund_date(d: date, style: int) -> _Cell:
    """Mostly `1985年3月7日` text; some real Excel date cells and bare serial numbers."""
    if style < 7 or not 1900 <= d.year < 2030:  # Excel has no dates before 1900
        return _cn_date(d)
    return d if style < 9 else (d - date(1899, 12, 30)).days


def _fund_id(rid: str, coin: dict[str, list[bool]], i: int, salt: int) -> str:
    rid = _id_typo(rid, salt) if coin["bad_id"][i] else rid
    rid = rid.lower() if coin["lower_x"][i] else rid
    return rid.translate(_FULLWIDTH) if coin["wide_id"][i] else rid


def _write_fund(path: Path, people: People, rec: Records, rng: Rng, as_of: date) -> RowIds:
    n = len(rec.person)
    d = _Draws(rng, n, _FUND_P, styles=3)
    # The fund platform sees only the fund part of the assets, in 万元.
    holding = (people.aum[rec.person] * rng.uniform(0.05, 0.6, n) / 10_000).round(2).tolist()
    snap = _snapshot(people, rec, as_of)
    ids, rows = [], []
    serials = _serials(rng, n, 3_000_000_000)
    for i, p in enumerate(rec.person.tolist()):
        coin, salt, style = d.coin, d.salt[i], d.style[i]
        kind, blank = int(people.kind[p]), coin["empty"][i]
        rid = _fund_id(people.id_number[p], coin, i, salt) if kind == CN else people.id_number[p]
        mobile = _transpose(snap.mobile[i], salt) if coin["transpose"][i] else snap.mobile[i]
        mobile = mobile.translate(_FULLWIDTH) if coin["wide_phone"][i] else mobile
        birth = _stated_birth(people.birth[p], coin["swap"][i], coin["impossible"][i], salt)
        risk = snap.risk[i]
        product = min(5, risk + 1) if coin["over_risk"][i] else 1 + style[2] * risk // 10
        rows.append([
            f"FA{serials[i]}", "" if blank else _name(people, p, coin["typo"][i], salt).upper(),
            gd.ID_TYPE_FUND[kind], "" if coin["no_id"][i] or blank else rid,
            "" if coin["no_phone"][i] or blank else mobile,
            None if coin["no_birth"][i] else _fund_date(birth, style[0]),
            None if coin["no_aum"][i] else holding[i], gd.RISK_WORDS[risk - 1],
            _fund_date(snap.risk_on[i], style[1]), f"R{product}",
        ])  # fmt: skip
        ids.append((f"FA{serials[i]}", p))
    _write_xlsx(path, "客户持仓", FUND_HEADER, rows, as_of)
    return ids


CALLCENTER_HEADER = ["工单号", "来电人", "联系电话", "城市", "来电时间"]
_CALL_P = {
    "typo": 0.03, "transpose": 0.02, "no_phone": 0.01, "traditional": 0.85, "partial": 0.20,
    "no_city": 0.10, "empty": 0.003,
}  # fmt: skip
_S2T = opencc.OpenCC("s2t")


def _call_phone(m: str, style: int) -> str:
    if style < 3:
        return f"0086 {m[:3]}-{m[3:7]}-{m[7:]}"
    if style < 6:
        return f"{m[:3]}-{m[3:7]}-{m[7:]}"
    return f"+86-{m}" if style < 8 else m


def _caller(people: People, p: int, coin: dict[str, list[bool]], i: int, salt: int) -> str:
    name = _name(people, p, coin["typo"][i], salt)
    if people.kind[p] == FOREIGN:
        return name
    if coin["partial"][i]:  # the agent noted only 王先生 / 李女士
        name = people.surname[p] + ("先生" if people.male[p] else "女士")
    return _S2T.convert(name) if coin["traditional"][i] else name


def _write_callcenter(path: Path, people: People, rec: Records, rng: Rng, as_of: date) -> RowIds:
    order = np.argsort(rec.ts, kind="stable")  # a call log is in call order
    rec = Records(rec.person[order], rec.ts[order])
    n = len(rec.person)
    d = _Draws(rng, n, _CALL_P, styles=1)
    snap = _snapshot(people, rec, as_of)
    ids, rows = [], []
    for i, p in enumerate(rec.person.tolist()):
        coin, salt, blank = d.coin, d.salt[i], d.coin["empty"][i]
        mobile = _transpose(snap.mobile[i], salt) if coin["transpose"][i] else snap.mobile[i]
        ticket = f"GD{snap.when[i]:%Y%m%d}{i + 1:07d}"
        rows.append([
            ticket, "" if blank else _caller(people, p, coin, i, salt),
            "" if coin["no_phone"][i] or blank else _call_phone(mobile, d.style[i][0]),
            "" if coin["no_city"][i] else snap.city[i], f"{snap.when[i]:%Y-%m-%d %H:%M:%S}",
        ])  # fmt: skip
        ids.append((ticket, p))
    _write_csv(path, CALLCENTER_HEADER, rows, "utf-8-sig")
    return ids


THIRDPARTY_HEADER = ["lead_id", "name", "phone", "city", "birth_year", "email"]
_THIRD_P = {
    "transpose": 0.02, "no_phone": 0.04, "no_birth_year": 0.10, "no_email": 0.30,
    "no_city": 0.05, "empty": 0.003,
}  # fmt: skip


def _pinyin_name(family: str, given: str, style: int) -> str:
    """`ZHANG WEI`, `Wei Zhang`, `zhang wei` or `Zhang Wei`: order and case vary by vendor."""
    if style < 4:
        return f"{family} {given}".upper()
    if style < 7:
        return f"{given} {family}"
    return f"{family} {given}".lower() if style < 9 else f"{family} {given}"


def _lead_phone(m: str, style: int) -> str:
    return m if style < 6 else ("+86 " if style < 8 else "86-") + m


def _write_thirdparty(path: Path, people: People, rec: Records, rng: Rng, as_of: date) -> RowIds:
    n = len(rec.person)
    d = _Draws(rng, n, _THIRD_P, styles=2)
    snap = _snapshot(people, rec, as_of)
    ids, rows = [], []
    for i, p in enumerate(rec.person.tolist()):
        coin, style, blank = d.coin, d.style[i], d.coin["empty"][i]
        mobile = _transpose(snap.mobile[i], d.salt[i]) if coin["transpose"][i] else snap.mobile[i]
        lead, (family, given) = f"L{i + 1:08d}", people.latin[p]
        rows.append([
            lead, "" if blank else _pinyin_name(family, given, style[0]),
            "" if coin["no_phone"][i] or blank else _lead_phone(mobile, style[1]),
            "" if coin["no_city"][i] else snap.city[i].removesuffix("市"),
            "" if coin["no_birth_year"][i] else people.birth[p].year,
            "" if coin["no_email"][i] or blank else people.email[p],
        ])  # fmt: skip
        ids.append((lead, p))
    _write_csv(path, THIRDPARTY_HEADER, rows, "utf-8")
    return ids


# ---------------------------------------------------------------------------------------------
# Transactions: booked against the source records of a channel, so they reach the golden
# customer only through customer_xref.

TXN_HEADERS: dict[str, list[str]] = {
    "branch_txn": ["流水号", "客户号", "交易时间", "交易金额(元)", "产品代码", "产品风险",
                   "交易类型"],
    "fund_txn": ["申请单号", "账户号", "确认日期", "确认金额", "基金代码", "风险等级", "业务类型"],
}  # fmt: skip
# (code prefix, product risk 1-5 or 0 = drawn per product, weight) per feed
_PRODUCTS: dict[str, list[tuple[str, int, float]]] = {
    "branch_txn": [
        ("TD", 1, 0.35), ("TB", 1, 0.15), ("WM", 2, 0.3), ("SP", 3, 0.12), ("TR", 4, 0.08),
    ],
    "fund_txn": [("F", 0, 1.0)],
}  # fmt: skip
_TXN_TYPES = ("purchase", "purchase", "purchase", "redemption")
_ORPHAN_SHARE = 0.005  # booked against an account number no customer file holds


@dataclass(frozen=True)
class _Activity:
    """Per person: mean transactions per account over two years, and the day they stopped
    (0 = still active; otherwise days before the reference date)."""

    rate: npt.NDArray[np.float64]
    stopped: I64


def _activity(n: int, rng: Rng) -> _Activity:
    rate = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(1.5, 6.0, n))
    stopped = np.where(rng.random(n) < 0.2, rng.integers(100, 600, n), 0)
    return _Activity(rate, stopped.astype(np.int64))


def _write_transactions(
    path: Path, feed: str, people: People, written: RowIds, activity: _Activity, rng: Rng,
    as_of: date,
) -> int:  # fmt: skip
    ids = [rid for rid, _ in written]
    persons = np.array([p for _, p in written], dtype=np.int64)
    count = rng.poisson(activity.rate[persons])
    owner = np.repeat(np.arange(len(ids)), count)
    person = persons[owner]
    n = len(owner)
    stopped = activity.stopped[person]
    days = stopped + (rng.random(n) * (730 - stopped)).astype(np.int64)
    seconds = rng.integers(9 * 3600, 17 * 3600, n)
    when = (np.datetime64(as_of, "s") - days * DAY + seconds).tolist()
    amount = np.round(rng.lognormal(np.log(20_000), 1.2, n), 2).tolist()
    products = _PRODUCTS[feed]
    weights = np.array([w for _, _, w in products])
    kind = rng.choice(len(products), size=n, p=weights / weights.sum())
    number = rng.integers(1, 1000, n)
    drawn_risk = 1 + number % 5
    risk = np.array([r for _, r, _ in products])[kind]
    risk = np.where(risk == 0, drawn_risk, risk)
    # Most sales are suitable: a product above the person's level becomes a suitable one, except
    # for 2 % of them (the mis-selling a compliance check must find).
    fix = (risk > people.risk[person]) & (rng.random(n) < 0.98)
    if products[0][1] == 0:  # risk drawn per product: a fund of the person's own level
        risk = np.where(fix, people.risk[person], risk)
    else:  # fixed-risk products: a time deposit (the first, R1) instead
        kind = np.where(fix, 0, kind)
        risk = np.where(fix, products[0][1], risk)
    risk = risk.tolist()
    orphan = (rng.random(n) < _ORPHAN_SHARE).tolist()
    txn_type = rng.integers(0, len(_TXN_TYPES), n).tolist()
    order = np.argsort(np.array(when, dtype="datetime64[s]"), kind="stable").tolist()
    rows = []
    for i, j in enumerate(order):
        ref = f"{ids[owner[j]]}9" if orphan[j] else ids[owner[j]]  # an account no file holds
        code = f"{products[kind[j]][0]}{number[j]:04d}"
        money = f"{amount[j]:,.2f}" if feed == "branch_txn" else f"{amount[j]:.2f}"
        stamp = f"{when[j]:%Y-%m-%d %H:%M:%S}" if feed == "branch_txn" else f"{when[j]:%Y%m%d}"
        rows.append([f"T{i + 1:09d}", ref, stamp, money, code, f"R{risk[j]}",
                     _TXN_TYPES[txn_type[j]]])  # fmt: skip
    _write_csv(path, TXN_HEADERS[feed], rows, "utf-8")
    return len(rows)


_TXN_CONFIG: dict[str, dict[str, object]] = {
    "branch_txn": {
        "kind": "transactions", "ref_channel": "branch", "format": "csv", "record_id": "流水号",
        "columns": {
            "customer_ref": "客户号", "txn_at": "交易时间", "amount_cny": "交易金额(元)",
            "product_code": "产品代码", "product_risk": "产品风险", "txn_type": "交易类型",
        },
    },
    "fund_txn": {
        "kind": "transactions", "ref_channel": "fund", "format": "csv", "record_id": "申请单号",
        "columns": {
            "customer_ref": "账户号", "txn_at": "确认日期", "amount_cny": "确认金额",
            "product_code": "基金代码", "product_risk": "风险等级", "txn_type": "业务类型",
        },
    },
}  # fmt: skip


_WRITERS: dict[str, Callable[[Path, People, Records, Rng, date], RowIds]] = {
    "branch": _write_branch,
    "app": _write_app,
    "fund": _write_fund,
    "callcenter": _write_callcenter,
    "thirdparty": _write_thirdparty,
}


# ---------------------------------------------------------------------------------------------
# Files


def _write_csv(
    path: Path, header: list[str], rows: Sequence[Sequence[_Cell]], encoding: str
) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _write_xlsx(
    path: Path, sheet: str, header: list[str], rows: Sequence[Sequence[_Cell]], as_of: date
) -> None:
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    wb = Workbook(write_only=True)
    wb.properties.creator = "mdm generate"
    wb.properties.created = stamp
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    _pin_zip_times(path, stamp)


def _pin_zip_times(path: Path, stamp: datetime) -> None:
    """openpyxl stamps the wall-clock save time into docProps/core.xml and every zip entry; pin
    both so that the workbook is byte-identical for the same seed."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    modified = f"{stamp:%Y-%m-%dT%H:%M:%SZ}".encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + modified, data)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


_CHANNEL_CONFIG: dict[str, dict[str, object]] = {
    "branch": {
        "format": "csv", "encoding": "gb18030", "record_id": "客户号", "trust": 90,
        "columns": {
            "full_name": "姓名", "gender": "性别", "birth_date": "出生日期",
            "id_type": "证件类型", "id_number": "证件号码", "mobile": "手机号码",
            "address": "联系地址", "city": "城市", "aum_cny": "资产余额(元)",
            "risk_level": "风险等级", "risk_assessed_on": "风险评估日期",
            "relationship_manager": "客户经理", "branch_code": "网点号",
            "source_updated_at": "更新时间",
        },
        "units": {"aum_cny": "yuan"},
    },
    "app": {
        "format": "jsonl", "encoding": "utf-8", "record_id": "user_id", "trust": 70,
        "columns": {
            "full_name": "name", "gender": "gender", "birth_date": "birthday",
            "id_type": "id_type", "id_number": "id_no", "mobile": "mobile", "email": "email",
            "city": "city", "source_updated_at": "updated_at",
            "marketing_consent": "marketing_opt_in",
        },
    },
    "fund": {
        "format": "xlsx", "record_id": "账户号", "trust": 80,
        "columns": {
            "full_name": "客户姓名", "id_type": "证件类型", "id_number": "证件号码",
            "mobile": "手机", "birth_date": "出生日期", "aum_cny": "持仓市值(万元)",
            "risk_level": "风险承受能力", "risk_assessed_on": "评估日期",
            "product_risk_max": "最高产品风险",
        },
        "units": {"aum_cny": "wan"},
    },
    "callcenter": {
        "format": "csv", "encoding": "utf-8-sig", "record_id": "工单号", "trust": 50,
        "columns": {
            "full_name": "来电人", "mobile": "联系电话", "city": "城市",
            "source_updated_at": "来电时间",
        },
    },
    "thirdparty": {
        "format": "csv", "encoding": "utf-8", "record_id": "lead_id", "trust": 20,
        "columns": {
            "full_name": "name", "mobile": "phone", "city": "city", "birth_year": "birth_year",
            "email": "email",
        },
    },
}  # fmt: skip


def _write_channels_yaml(path: Path, customers: int, seed: int, as_of: date) -> None:
    channels = {name: {"path": CHANNEL_FILES[name], **_CHANNEL_CONFIG[name]} for name in CHANNELS}
    for feed in TRANSACTION_FEEDS:
        channels[feed] = {"path": TRANSACTION_FILES[feed], **_TXN_CONFIG[feed]}
    head = (
        f"# Generated by `mdm generate` (mdm/testbed/generate.py) with seed {seed}:"
        f" {customers} customers, reference date {as_of.isoformat()}.\n"
    )
    body = yaml.safe_dump({"channels": channels}, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(head + body, encoding="utf-8")
