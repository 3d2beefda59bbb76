"""Administrative divisions (province, city, district) read from a Chinese full address.

cpca matches the address against the national division table. Its guesses are kept only when
the address itself names the province or the city: a bare district (朝阳区 exists in Beijing and
in Changchun) is too ambiguous to fill anything from. Municipalities are their own city
(北京市, as the channels write it), not cpca's 市辖区.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Division names hold no digits, so what follows the first one (street numbers, rooms) can be
# cut off before parsing: addresses then repeat a lot more, and cpca runs once per prefix.
_FROM_FIRST_DIGIT = "[0-9].*$"
_NOT_A_CITY = ("市辖区", "县")  # what cpca calls the city level of a municipality


class Divisions(NamedTuple):
    province: str | None
    city: str | None
    district: str | None


NO_DIVISIONS = Divisions(None, None, None)


def divisions_many(addresses: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Province, city and district (object arrays, None where unknown) that each cleaned
    address of an Arrow string array names."""
    prefixes = pc.dictionary_encode(pc.replace_substring_regex(addresses, _FROM_FIRST_DIGIT, ""))
    distinct = prefixes.dictionary.to_pylist()
    found = np.full((len(distinct) + 1, 3), None, dtype=object)  # last row: a null address
    if distinct:
        import cpca  # loads its division table (~0.5 s) only when an address needs it

        parsed = cpca.transform(distinct).astype(object).where(lambda frame: frame.notna(), None)
        columns = zip(distinct, parsed["省"], parsed["市"], parsed["区"], strict=True)
        for at, (prefix, province, city, district) in enumerate(columns):
            found[at] = _checked(prefix, province, city, district)
    codes = pc.fill_null(prefixes.indices, len(distinct)).to_numpy(zero_copy_only=False)
    rows = found[codes]
    return rows[:, 0], rows[:, 1], rows[:, 2]


def _checked(text: str, province: str | None, city: str | None, district: str | None) -> Divisions:
    if city in _NOT_A_CITY or (city is None and province is not None and province[-1] == "市"):
        city = province  # only the four municipalities are province-level 市
    elif city is not None and "直辖" in city:  # 省直辖县级行政区划: a county-level city
        city = None
    if not any(name and name[:2] in text for name in (province, city)):
        return NO_DIVISIONS
    return Divisions(province, city, district)
