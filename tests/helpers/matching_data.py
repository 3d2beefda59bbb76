"""Labelled standardized records for the matching tests, with a true-entity column.

``labelled_records()`` is a hand-built few dozen rows covering the SPEC §4 hard cases;
``synthetic_records()`` is a seeded population of a few thousand for training and scale checks.
Both look like the output of mdm.standardize (name keys, E.164 phones, normalized ids).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

TRUST = {"branch": 90, "fund": 80, "app": 70, "callcenter": 50, "thirdparty": 20}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(region: str, birth: dt.date, sequence: int) -> str:
    """A valid 18-digit resident id (ISO 7064 MOD 11-2 check character)."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]
    return body + check


def masked(rid: str) -> str:
    return rid[:6] + "*" * 8 + rid[-4:]


def record(
    source: str,
    record_id: str,
    entity: str,
    name: tuple[str, str, str, bool] | None,
    *,
    full_name: str | None = None,
    id_number: str | None = None,
    id_valid: bool | None = None,
    birth_date: dt.date | None = None,
    updated: str = "2024-01-01",
    **fields: Any,
) -> dict[str, Any]:
    """One standardized row; ``name`` = (name_key, name_pinyin, name_pinyin_sorted, partial)."""
    name_key, pinyin, pinyin_sorted, partial = name or (None, None, None, None)
    is_masked = id_number is not None and "*" in id_number
    if id_valid is None and id_number is not None and not is_masked:
        id_valid = True
    return {
        "record_key": f"{source}:{record_id}",
        "entity": entity,
        "source_system": source,
        "source_record_id": record_id,
        "trust": TRUST[source],
        "source_updated_at": pd.Timestamp(updated),
        "full_name": full_name or name_key,
        "name_key": name_key,
        "name_pinyin": pinyin,
        "name_pinyin_sorted": pinyin_sorted,
        "name_is_partial": partial,
        "id_type": "CN_RID" if id_number else None,
        "id_number": id_number,
        "id_valid": id_valid,
        "id_masked": is_masked if id_number else None,
        "birth_date": birth_date,
        "birth_year": birth_date.year if birth_date else fields.pop("birth_year", None),
        **fields,
    }


CHEN_LI = ("陈丽", "chen li", "chen li", False)
WANG_WEI = ("王伟", "wang wei", "wang wei", False)
WANG_PARTIAL = ("王", "wang", "wang", True)
LI_NA = ("李娜", "li na", "li na", False)
ZHANG_MING = ("张明", "zhang ming", "ming zhang", False)
ZHANG_MIN = ("张敏", "zhang min", "min zhang", False)
ZHANG_WEI = ("张伟", "zhang wei", "wei zhang", False)
OUYANG_XIU = ("欧阳修", "ouyang xiu", "ouyang xiu", False)
LIU_YANG = ("刘洋", "liu yang", "liu yang", False)
ZHAO_LEI = ("赵磊", "zhao lei", "lei zhao", False)
SUN_LI = ("孙丽", "sun li", "li sun", False)
ZHOU_JIE = ("周杰", "zhou jie", "jie zhou", False)

D_CHEN = dt.date(1985, 3, 12)
D_WANG = dt.date(1980, 7, 1)
D_LI = dt.date(1982, 11, 20)
D_TWINS = dt.date(1990, 5, 5)
D_ZW1 = dt.date(1975, 1, 1)
D_ZW2 = dt.date(1988, 9, 9)
D_OUYANG = dt.date(1966, 6, 18)
D_LIU = dt.date(1971, 2, 8)
D_ZHAO = dt.date(1993, 4, 9)
D_SUN = dt.date(1987, 10, 3)
D_ZHOU = dt.date(1979, 12, 24)

R_CHEN = resident_id("110101", D_CHEN, 124)
R_WANG = resident_id("110105", D_WANG, 311)
R_LI = resident_id("110105", D_LI, 442)
R_MING = resident_id("320102", D_TWINS, 115)
R_MIN = resident_id("320102", D_TWINS, 126)
R_ZW1 = resident_id("310101", D_ZW1, 357)
R_ZW2 = resident_id("110108", D_ZW2, 239)
R_OUYANG = resident_id("440103", D_OUYANG, 551)
R_LIU = resident_id("110101", D_LIU, 613)  # a legacy 15-digit card, normalized to 18
R_ZHAO = resident_id("510104", D_ZHAO, 777)
R_SUN = resident_id("330106", D_SUN, 882)
R_ZHOU = resident_id("420102", D_ZHOU, 995)
R_ZW1_TYPO = R_ZW1[:10] + str((int(R_ZW1[10]) + 1) % 10) + R_ZW1[11:]  # bad check digit

A_CHEN = "北京市东城区东四十条22号3单元501"
A_HOME = "北京市朝阳区建国路88号院2号楼1201"  # the Wang/Li household
A_TWINS = "江苏省南京市玄武区中山路100号"
A_ZW1 = "上海市黄浦区南京东路300号"
A_ZW2 = "北京市海淀区中关村大街1号"


def labelled_records() -> pd.DataFrame:
    """A few dozen records of 12 people, index record_key, column ``entity`` = the truth."""
    rows = [
        # 陈丽: branch, app (masked id), call center (traditional 陳麗), third party in pinyin.
        record(
            "branch",
            "B001",
            "chen",
            CHEN_LI,
            id_number=R_CHEN,
            birth_date=D_CHEN,
            gender="F",
            mobile="+8613911428803",
            address=A_CHEN,
            city="北京市",
            updated="2023-05-01",
            risk_level="C2",
            risk_assessed_on=dt.date(2022, 1, 5),
        ),
        record(
            "app",
            "U001",
            "chen",
            CHEN_LI,
            id_number=masked(R_CHEN),
            birth_date=D_CHEN,
            gender="F",
            mobile="+8613911428803",
            email="chenli@example.com",
            updated="2024-08-01",
            address="北京市东城区东四十条22号3单元501室",
            city="北京市",
        ),
        record(
            "callcenter",
            "C001",
            "chen",
            CHEN_LI,
            full_name="陳麗",
            mobile="+8613911428803",
            gender="F",
            updated="2024-03-01",
        ),
        record(
            "thirdparty",
            "T001",
            "chen",
            ("li chen", "chen li", "chen li", False),
            full_name="LI CHEN",
            birth_year=1985,
            city="北京市",
            gender="F",
        ),
        # 王伟 and 李娜, spouses: same address, her branch record gives his mobile.
        record(
            "branch",
            "B002",
            "wang",
            WANG_WEI,
            id_number=R_WANG,
            birth_date=D_WANG,
            gender="M",
            mobile="+8615077213356",
            address=A_HOME,
            city="北京市",
        ),
        record(
            "callcenter",
            "C002",
            "wang",
            WANG_PARTIAL,
            full_name="王先生",
            mobile="+8615077213356",
            gender="M",
        ),
        record(
            "app",
            "U002",
            "wang",
            WANG_WEI,
            id_number=masked(R_WANG),
            birth_date=D_WANG,
            gender="M",
            mobile="+8615077213356",
            email="wangwei80@example.com",
        ),
        record(
            "branch",
            "B003",
            "li",
            LI_NA,
            id_number=R_LI,
            birth_date=D_LI,
            gender="F",
            mobile="+8615077213356",
            address=A_HOME,
            city="北京市",
        ),
        record(
            "fund",
            "F003",
            "li",
            LI_NA,
            id_number=R_LI,
            birth_date=D_LI,
            gender="F",
            mobile="+8618630571249",
            risk_level="C3",
            risk_assessed_on=dt.date(2024, 3, 1),
        ),
        # Twins 张明 / 张敏: surname, birth date and address shared; ids differ.
        record(
            "branch",
            "B004",
            "ming",
            ZHANG_MING,
            id_number=R_MING,
            birth_date=D_TWINS,
            gender="M",
            mobile="+8613527760418",
            address=A_TWINS,
            city="南京市",
        ),
        record(
            "app",
            "U004",
            "ming",
            ZHANG_MING,
            id_number=masked(R_MING),
            birth_date=D_TWINS,
            gender="M",
            mobile="+8613527760418",
        ),
        record(
            "branch",
            "B005",
            "min",
            ZHANG_MIN,
            id_number=R_MIN,
            birth_date=D_TWINS,
            gender="F",
            mobile="+8617365092271",
            address=A_TWINS,
            city="南京市",
        ),
        record(
            "callcenter",
            "C005",
            "min",
            ZHANG_MIN,
            full_name="張敏",
            mobile="+8617365092271",
            gender="F",
        ),
        # Two different 张伟; the first has a fund record with a mistyped id.
        record(
            "branch",
            "B006",
            "zw1",
            ZHANG_WEI,
            id_number=R_ZW1,
            birth_date=D_ZW1,
            gender="M",
            mobile="+8615896413370",
            address=A_ZW1,
            city="上海市",
        ),
        record(
            "fund",
            "F006",
            "zw1",
            ZHANG_WEI,
            id_number=R_ZW1_TYPO,
            id_valid=False,
            birth_date=D_ZW1,
            gender="M",
            mobile="+8615896413370",
        ),
        record(
            "branch",
            "B007",
            "zw2",
            ZHANG_WEI,
            id_number=R_ZW2,
            birth_date=D_ZW2,
            gender="M",
            mobile="+8613702583916",
            address=A_ZW2,
            city="北京市",
        ),
        record(
            "thirdparty",
            "T007",
            "zw2",
            ("wei zhang", "zhang wei", "wei zhang", False),
            full_name="Wei Zhang",
            birth_year=1988,
            city="北京市",
            mobile="+8613702583916",
        ),
        # 欧阳修: rare name, branch and app (masked id).
        record(
            "branch",
            "B008",
            "ouyang",
            OUYANG_XIU,
            id_number=R_OUYANG,
            birth_date=D_OUYANG,
            gender="M",
            mobile="+8618911876542",
            city="广州市",
        ),
        record(
            "app",
            "U008",
            "ouyang",
            OUYANG_XIU,
            id_number=masked(R_OUYANG),
            birth_date=D_OUYANG,
            gender="M",
            mobile="+8618911876542",
            email="ouyangxiu@example.com",
        ),
        # 刘洋: legacy id (already 18 digits) in branch, the same id in fund, day/month swapped.
        record(
            "branch",
            "B009",
            "liu",
            LIU_YANG,
            id_number=R_LIU,
            birth_date=D_LIU,
            gender="M",
            mobile="+8613366290187",
            city="北京市",
        ),
        record(
            "fund",
            "F009",
            "liu",
            LIU_YANG,
            id_number=R_LIU,
            birth_date=dt.date(1971, 8, 2),
            gender="M",
            mobile="+8615561203794",
        ),
        # Singles and simple pairs that give the model ordinary matches to learn from.
        record(
            "branch",
            "B010",
            "zhao",
            ZHAO_LEI,
            id_number=R_ZHAO,
            birth_date=D_ZHAO,
            gender="M",
            mobile="+8618245937610",
            city="成都市",
        ),
        record(
            "fund",
            "F010",
            "zhao",
            ZHAO_LEI,
            id_number=R_ZHAO,
            birth_date=D_ZHAO,
            gender="M",
            mobile="+8618245937610",
            email="zhaolei@example.com",
        ),
        record(
            "branch",
            "B011",
            "sun",
            SUN_LI,
            id_number=R_SUN,
            birth_date=D_SUN,
            gender="F",
            mobile="+8613877150462",
            city="杭州市",
        ),
        record(
            "app",
            "U011",
            "sun",
            SUN_LI,
            id_number=masked(R_SUN),
            birth_date=D_SUN,
            gender="F",
            mobile="+8613877150462",
            email="sunli@example.com",
        ),
        record(
            "branch",
            "B012",
            "zhou",
            ZHOU_JIE,
            id_number=R_ZHOU,
            birth_date=D_ZHOU,
            gender="M",
            mobile="+8615902638817",
            city="武汉市",
        ),
    ]
    return pd.DataFrame(rows).set_index("record_key")


# ---------------------------------------------------------------------------------------------
# A seeded population for training and scale checks.

SURNAMES = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("欧阳", "ouyang"),
)
GIVEN_CHARS = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("英", "ying"),
    ("华", "hua"),
    ("志", "zhi"),
    ("强", "qiang"),
    ("海", "hai"),
    ("燕", "yan"),
    ("俊", "jun"),
    ("东", "dong"),
    ("晓", "xiao"),
    ("丽", "li"),
    ("军", "jun"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("兰", "lan"),
    ("建", "jian"),
)
CITIES = ("北京市", "上海市", "广州市", "深圳市", "成都市", "杭州市", "南京市", "武汉市")


def synthetic_records(persons: int, seed: int) -> pd.DataFrame:
    """1-4 records per person from branch, app, call center and third party, with the channel
    quirks matching needs to learn: masked ids in the app, 王先生 callers, pinyin-only
    third-party names with a birth year, a few mistyped ids and phones, common names repeating
    (zipf-like surnames and given-name characters)."""
    rng = np.random.default_rng(seed)
    surname = rng.choice(len(SURNAMES), persons, p=_zipf(len(SURNAMES)))
    chars = rng.choice(len(GIVEN_CHARS), (persons, 2), p=_zipf(len(GIVEN_CHARS)))
    one_char = rng.random(persons) < 0.3
    days = rng.integers(0, 18000, persons)
    rows = []
    for p in range(persons):
        family, family_py = SURNAMES[surname[p]]
        picked = chars[p, :1] if one_char[p] else chars[p]
        given = "".join(GIVEN_CHARS[c][0] for c in picked)
        given_py = "".join(GIVEN_CHARS[c][1] for c in picked)
        pinyin = f"{family_py} {given_py}"
        name = (family + given, pinyin, " ".join(sorted(pinyin.split())), False)
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=int(days[p]))
        rid = resident_id(f"{110101 + p // 1000}", birth, p % 1000)
        mobile = f"+86139{(p * 7919 + 12345) % 10**8:08d}"  # far apart, unlike p itself
        city = CITIES[p % len(CITIES)]
        gender = "M" if p % 2 else "F"
        common = {"entity": f"p{p}", "gender": gender}
        for channel in rng.choice(4, size=rng.integers(1, 5), replace=False).tolist():
            typo = rng.random() < 0.05
            if channel == 0:
                number = rid[:8] + rid[9] + rid[8] + rid[10:] if typo and rid[8] != rid[9] else rid
                rows.append(
                    record(
                        "branch",
                        f"B{p}",
                        **common,
                        name=name,
                        id_number=number,
                        id_valid=number == rid,
                        birth_date=birth,
                        mobile=mobile,
                        address=f"{city}某区某路{p}号",
                        city=city,
                    )
                )
            elif channel == 1:
                app_mobile = mobile[:-2] + mobile[-1] + mobile[-2] if typo else mobile
                rows.append(
                    record(
                        "app",
                        f"U{p}",
                        **common,
                        name=name,
                        id_number=masked(rid),
                        birth_date=birth,
                        mobile=app_mobile,
                        city=city,
                        email=f"user{p}@example.com",
                    )
                )
            elif channel == 2:
                caller = (family, family_py, family_py, True) if rng.random() < 0.2 else name
                rows.append(
                    record(
                        "callcenter",
                        f"C{p}",
                        **common,
                        name=caller,
                        mobile=mobile,
                        full_name=family + ("先生" if p % 2 else "女士") if caller[3] else None,
                    )
                )
            else:
                latin = (f"{given_py} {family_py}", pinyin, name[2], False)
                rows.append(
                    record(
                        "thirdparty",
                        f"T{p}",
                        "p" + str(p),
                        latin,
                        birth_year=birth.year,
                        city=city,
                        mobile=mobile if rng.random() < 0.6 else None,
                    )
                )
    return pd.DataFrame(rows).set_index("record_key")


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()
