"""Administrative divisions (province, city, district) read from a Chinese full address.

cpca matches the address against the national division table. Its guesses are kept only when
the address itself names the province or the city: a bare district (朝阳区 exists in Beijing and
in Changchun) is too ambiguous to fill anything from. Municipalities are their own city
(北京市, as the channels write it), not cpca's 市辖区.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import pandas as pd

# Division names hold no digits, so what follows the first one (street numbers, rooms) can be
# cut off before parsing: addresses then repeat a lot more, and cpca runs once per prefix.
_FIRST_DIGIT = re.compile(r"[0-9]")
_NOT_A_CITY = ("市辖区", "县")  # what cpca calls the city level of a municipality


class Divisions(NamedTuple):
    province: str | None
    city: str | None
    district: str | None


NO_DIVISIONS = Divisions(None, None, None)


def divisions_many(addresses: list[str]) -> list[Divisions]:
    """The divisions each cleaned address names (``NO_DIVISIONS`` where it names none)."""
    prefixes = [_FIRST_DIGIT.split(address, maxsplit=1)[0] for address in addresses]
    distinct = list(dict.fromkeys(prefixes))
    if not distinct:
        return []
    import cpca  # loads its division table (~0.5 s) only when an address needs it

    parsed = cpca.transform(distinct).astype(object).where(lambda frame: frame.notna(), None)
    found = {
        prefix: _checked(prefix, province, city, district)
        for prefix, province, city, district in zip(
            distinct, parsed["省"], parsed["市"], parsed["区"], strict=True
        )
    }
    return [found[prefix] for prefix in prefixes]


def _checked(text: str, province: str | None, city: str | None, district: str | None) -> Divisions:
    if city in _NOT_A_CITY:
        city = province
    elif city is not None and "直辖" in city:  # 省直辖县级行政区划: a county-level city
        city = None
    if not any(name and name[:2] in text for name in (province, city)):
        return NO_DIVISIONS
    return Divisions(province, city, district)


def agree(stated: object, parsed: str | None) -> bool:
    """A stated division (南京 / 南京市) is the parsed one, or is missing."""
    if stated is None or pd.isna(stated) or parsed is None:
        return True
    return str(stated)[:2] == parsed[:2]
