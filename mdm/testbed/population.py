"""Ground truth for the synthetic test bed (mdm/testbed/generate.py): reference tables, people.

Weights are relative frequencies, roughly as in national surname/given-name statistics, so that the
generated population has the realistic skew that makes matching hard (many 王/李/张, many 张伟).
All randomness comes from the ``numpy.random.Generator`` passed in, never from the clock or
``hash()``, so the same seed draws the same people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from pypinyin import lazy_pinyin

from mdm.standardize.ids import rid_check_char


# fmt: off
class Surname(NamedTuple):
    text: str
    pinyin: str  # the surname reading, which is not always the common reading of the character
    weight: float


SURNAMES: tuple[Surname, ...] = (
    Surname("王", "wang", 7.12), Surname("李", "li", 7.00), Surname("张", "zhang", 6.74),
    Surname("刘", "liu", 5.38), Surname("陈", "chen", 4.53), Surname("杨", "yang", 3.08),
    Surname("赵", "zhao", 2.29), Surname("黄", "huang", 2.23), Surname("吴", "wu", 2.05),
    Surname("周", "zhou", 1.93), Surname("徐", "xu", 1.45), Surname("孙", "sun", 1.38),
    Surname("马", "ma", 1.29), Surname("朱", "zhu", 1.26), Surname("胡", "hu", 1.14),
    Surname("郭", "guo", 1.13), Surname("何", "he", 1.06), Surname("林", "lin", 1.01),
    Surname("高", "gao", 1.00), Surname("罗", "luo", 0.94), Surname("郑", "zheng", 0.86),
    Surname("梁", "liang", 0.83), Surname("谢", "xie", 0.78), Surname("宋", "song", 0.72),
    Surname("唐", "tang", 0.70), Surname("许", "xu", 0.67), Surname("韩", "han", 0.63),
    Surname("冯", "feng", 0.60), Surname("邓", "deng", 0.60), Surname("曹", "cao", 0.57),
    Surname("彭", "peng", 0.56), Surname("曾", "zeng", 0.54), Surname("肖", "xiao", 0.52),
    Surname("田", "tian", 0.50), Surname("董", "dong", 0.48), Surname("袁", "yuan", 0.48),
    Surname("潘", "pan", 0.45), Surname("于", "yu", 0.45), Surname("蒋", "jiang", 0.44),
    Surname("蔡", "cai", 0.43), Surname("余", "yu", 0.43), Surname("杜", "du", 0.42),
    Surname("叶", "ye", 0.42), Surname("程", "cheng", 0.40), Surname("苏", "su", 0.36),
    Surname("魏", "wei", 0.35), Surname("吕", "lv", 0.34), Surname("丁", "ding", 0.33),
    Surname("任", "ren", 0.33), Surname("沈", "shen", 0.32), Surname("姚", "yao", 0.31),
    Surname("卢", "lu", 0.30), Surname("姜", "jiang", 0.30), Surname("崔", "cui", 0.29),
    Surname("钟", "zhong", 0.28), Surname("谭", "tan", 0.28), Surname("陆", "lu", 0.27),
    Surname("汪", "wang", 0.27), Surname("范", "fan", 0.26), Surname("金", "jin", 0.26),
    Surname("石", "shi", 0.25), Surname("廖", "liao", 0.25), Surname("贾", "jia", 0.24),
    Surname("夏", "xia", 0.24), Surname("韦", "wei", 0.24), Surname("付", "fu", 0.23),
    Surname("方", "fang", 0.23), Surname("白", "bai", 0.22), Surname("邹", "zou", 0.22),
    Surname("孟", "meng", 0.21), Surname("熊", "xiong", 0.21), Surname("秦", "qin", 0.21),
    Surname("邱", "qiu", 0.20), Surname("江", "jiang", 0.20), Surname("尹", "yin", 0.19),
    Surname("薛", "xue", 0.18), Surname("闫", "yan", 0.18), Surname("段", "duan", 0.18),
    Surname("雷", "lei", 0.17), Surname("侯", "hou", 0.17), Surname("龙", "long", 0.17),
    Surname("史", "shi", 0.16), Surname("陶", "tao", 0.16), Surname("黎", "li", 0.16),
    Surname("贺", "he", 0.16), Surname("顾", "gu", 0.15), Surname("毛", "mao", 0.15),
    Surname("郝", "hao", 0.15), Surname("龚", "gong", 0.15), Surname("邵", "shao", 0.14),
    Surname("万", "wan", 0.14), Surname("钱", "qian", 0.14), Surname("严", "yan", 0.14),
    Surname("武", "wu", 0.13), Surname("戴", "dai", 0.13), Surname("莫", "mo", 0.12),
    Surname("孔", "kong", 0.12), Surname("向", "xiang", 0.12), Surname("汤", "tang", 0.12),
    # Surnames whose reading differs from the character's everyday reading.
    Surname("单", "shan", 0.05), Surname("解", "xie", 0.04), Surname("仇", "qiu", 0.03),
    Surname("区", "ou", 0.02), Surname("翟", "zhai", 0.05), Surname("查", "zha", 0.02),
    Surname("朴", "piao", 0.02), Surname("缪", "miao", 0.03), Surname("覃", "qin", 0.06),
    # Compound (two-character) surnames.
    Surname("欧阳", "ouyang", 0.04), Surname("司马", "sima", 0.01), Surname("诸葛", "zhuge", 0.006),
    Surname("上官", "shangguan", 0.005), Surname("司徒", "situ", 0.01),
    Surname("东方", "dongfang", 0.004), Surname("皇甫", "huangfu", 0.004),
)

# Given-name characters by gender, with relative weights.
MALE_CHARS: tuple[tuple[str, float], ...] = (
    ("伟", 4.0), ("强", 2.0), ("磊", 2.0), ("军", 2.0), ("勇", 2.0), ("杰", 2.0), ("涛", 2.0),
    ("明", 2.0), ("超", 2.0), ("辉", 2.0), ("刚", 1.5), ("平", 1.0), ("鹏", 1.5), ("华", 1.5),
    ("飞", 1.5), ("斌", 1.5), ("波", 1.2), ("宇", 1.5), ("浩", 1.5), ("凯", 1.2), ("健", 1.2),
    ("俊", 1.2), ("帆", 1.0), ("鑫", 1.0), ("龙", 1.0), ("林", 1.0), ("晨", 1.0), ("建", 1.5),
    ("国", 1.5), ("志", 1.5), ("文", 1.5), ("峰", 1.2), ("海", 1.2), ("东", 1.0), ("亮", 1.0),
    ("成", 1.0), ("毅", 0.8), ("博", 0.8), ("宁", 0.8), ("阳", 1.0), ("子", 1.0), ("轩", 0.8),
    ("然", 0.6), ("睿", 0.6), ("泽", 0.8), ("翔", 0.8), ("振", 0.6), ("德", 0.8), ("荣", 0.6),
    ("庆", 0.6), ("春", 0.6), ("永", 0.8), ("新", 0.6), ("光", 0.6), ("金", 0.6), ("世", 0.5),
    ("嘉", 0.6), ("天", 0.6), ("昊", 0.6), ("逸", 0.5), ("瑞", 0.5), ("铭", 0.5), ("炜", 0.3),
    ("玮", 0.3), ("钧", 0.3), ("锋", 0.4), ("韬", 0.3), ("彬", 0.3), ("骏", 0.3), ("剑", 0.4),
    ("智", 0.5), ("兵", 0.6), ("江", 0.5), ("祥", 0.4), ("诚", 0.3), ("皓", 0.3), ("家", 0.5),
)
FEMALE_CHARS: tuple[tuple[str, float], ...] = (
    ("芳", 3.0), ("娜", 2.5), ("敏", 2.5), ("静", 3.0), ("丽", 3.0), ("艳", 2.5), ("娟", 2.0),
    ("霞", 2.0), ("燕", 2.0), ("秀", 2.0), ("英", 2.0), ("玲", 2.0), ("桂", 1.5), ("兰", 1.5),
    ("梅", 1.5), ("萍", 1.5), ("红", 1.5), ("婷", 1.5), ("雪", 1.5), ("慧", 1.5), ("丹", 1.2),
    ("莉", 1.2), ("倩", 1.2), ("琳", 1.2), ("晶", 1.0), ("颖", 1.0), ("欣", 1.2), ("怡", 1.2),
    ("佳", 1.2), ("悦", 0.8), ("洁", 1.0), ("琴", 0.8), ("云", 0.8), ("华", 1.0), ("凤", 1.0),
    ("玉", 1.5), ("珍", 0.8), ("美", 0.8), ("春", 0.8), ("晓", 1.0), ("思", 1.0),
    ("雨", 1.0), ("梓", 0.8), ("涵", 0.8), ("彤", 0.6), ("诗", 0.6), ("雅", 0.8), ("嘉", 0.6),
    ("婧", 0.3), ("菁", 0.3), ("俐", 0.2), ("茜", 0.4), ("馨", 0.5), ("莹", 0.5), ("芸", 0.4),
    ("宜", 0.3), ("仪", 0.3), ("鹃", 0.2), ("虹", 0.4), ("琪", 0.5), ("蕾", 0.3), ("岚", 0.3),
)

# The most common full names in China: a share of the population is drawn from this list so that
# many different people share a name (张伟 …), the classic false-merge trap.
# full name (its first character is the surname), gender, weight
TOP_NAMES: tuple[tuple[str, str, float], ...] = (
    ("张伟", "M", 10.0), ("王伟", "M", 9.5), ("王芳", "F", 9.5), ("李伟", "M", 9.0),
    ("李娜", "F", 8.5), ("张敏", "F", 8.5), ("李静", "F", 8.3), ("王静", "F", 8.3),
    ("刘伟", "M", 8.0), ("王秀英", "F", 7.8), ("张丽", "F", 7.7), ("李秀英", "F", 7.5),
    ("王丽", "F", 7.4), ("张静", "F", 7.3), ("张秀英", "F", 7.2), ("李强", "M", 7.0),
    ("王敏", "F", 6.9), ("李敏", "F", 6.8), ("王磊", "M", 6.7), ("刘洋", "M", 6.6),
    ("王艳", "F", 6.5), ("王勇", "M", 6.4), ("李军", "M", 6.3), ("张勇", "M", 6.2),
    ("李杰", "M", 6.1), ("张杰", "M", 6.0), ("张磊", "M", 5.9), ("王强", "M", 5.8),
    ("李娟", "F", 5.7), ("王军", "M", 5.6), ("张艳", "F", 5.5), ("张涛", "M", 5.4),
    ("王涛", "M", 5.3), ("李艳", "F", 5.2), ("王超", "M", 5.1), ("李明", "M", 5.0),
    ("李勇", "M", 4.9), ("王娟", "F", 4.8), ("刘杰", "M", 4.7), ("刘敏", "F", 4.6),
    ("李霞", "F", 4.5), ("李丽", "F", 4.4), ("张军", "M", 4.3), ("王杰", "M", 4.2),
    ("张强", "M", 4.1), ("王秀兰", "F", 4.0), ("王刚", "M", 3.9), ("刘芳", "F", 3.8),
    ("张燕", "F", 3.7), ("刘艳", "F", 3.6), ("陈静", "F", 3.5), ("陈伟", "M", 3.4),
    ("陈丽", "F", 3.3), ("刘丽", "F", 3.2), ("杨洋", "M", 3.1), ("陈杰", "M", 3.0),
    ("黄伟", "M", 2.8), ("赵伟", "M", 2.6), ("刘静", "F", 2.5), ("李桂英", "F", 2.4),
)

# Characters that sound alike and are mistyped for one another with a pinyin IME. Every character
# is in at most one group.
HOMOPHONE_GROUPS: tuple[str, ...] = (
    "丽莉俐利", "伟玮炜维", "明铭鸣", "静晶婧菁", "华花桦", "军君钧", "林琳霖", "芳方",
    "红虹鸿宏", "玲铃翎", "敏闽", "杰洁捷", "燕艳雁彦", "娟鹃", "霞侠", "峰锋丰枫", "涛滔韬",
    "辉晖徽", "斌彬滨", "波博", "婷亭", "晨辰臣", "鑫欣馨新", "宇雨禹羽", "俊峻骏", "平萍",
    "建剑健", "志智", "文雯", "梅玫", "颖莹英", "云芸", "琴勤", "倩茜", "佳嘉家", "怡宜仪",
    "龙隆", "浩昊皓", "凯楷", "鹏朋", "强蔷", "娜纳", "兰岚", "磊蕾", "刚钢", "飞菲", "宁凝",
    "慧惠", "东冬", "成诚承", "瑞睿", "翔祥", "振震", "荣容蓉", "琪琦棋", "雅亚", "思斯",
    "涵寒", "彤桐", "玉钰",
)


class Region(NamedTuple):
    code: str  # 6-digit administrative division code, the first six digits of a resident ID
    province: str
    city: str
    district: str
    since: int  # first birth year for which python-stdnum accepts this code (0: always)
    weight: float


# Real district codes. `since` follows python-stdnum's table (stdnum.cn.ric checks that the code
# existed in the birth year), so people born earlier get an always-valid code instead.
REGIONS: tuple[Region, ...] = (
    Region("110101", "北京市", "北京市", "东城区", 0, 2.0),
    Region("110102", "北京市", "北京市", "西城区", 0, 2.0),
    Region("110105", "北京市", "北京市", "朝阳区", 0, 3.0),
    Region("110106", "北京市", "北京市", "丰台区", 0, 2.0),
    Region("110108", "北京市", "北京市", "海淀区", 0, 3.0),
    Region("120101", "天津市", "天津市", "和平区", 0, 1.5),
    Region("120103", "天津市", "天津市", "河西区", 0, 1.5),
    Region("310101", "上海市", "上海市", "黄浦区", 0, 2.0),
    Region("310104", "上海市", "上海市", "徐汇区", 0, 2.5),
    Region("310105", "上海市", "上海市", "长宁区", 0, 2.0),
    Region("310106", "上海市", "上海市", "静安区", 0, 2.0),
    Region("310107", "上海市", "上海市", "普陀区", 0, 2.0),
    Region("310110", "上海市", "上海市", "杨浦区", 0, 2.0),
    Region("310115", "上海市", "上海市", "浦东新区", 1992, 3.0),
    Region("440103", "广东省", "广州市", "荔湾区", 1983, 1.5),
    Region("440104", "广东省", "广州市", "越秀区", 1983, 2.0),
    Region("440106", "广东省", "广州市", "天河区", 1985, 2.5),
    Region("440303", "广东省", "深圳市", "罗湖区", 1983, 2.0),
    Region("440304", "广东省", "深圳市", "福田区", 1983, 2.5),
    Region("440305", "广东省", "深圳市", "南山区", 1983, 2.5),
    Region("440604", "广东省", "佛山市", "禅城区", 2002, 1.0),
    Region("441302", "广东省", "惠州市", "惠城区", 1988, 0.8),
    Region("330102", "浙江省", "杭州市", "上城区", 1983, 1.5),
    Region("330106", "浙江省", "杭州市", "西湖区", 1983, 2.0),
    Region("330108", "浙江省", "杭州市", "滨江区", 1996, 1.2),
    Region("330122", "浙江省", "杭州市", "桐庐县", 0, 0.6),
    Region("330203", "浙江省", "宁波市", "海曙区", 1983, 1.2),
    Region("320102", "江苏省", "南京市", "玄武区", 1983, 1.5),
    Region("320106", "江苏省", "南京市", "鼓楼区", 1983, 1.5),
    Region("320505", "江苏省", "苏州市", "虎丘区", 2000, 1.2),
    Region("320583", "江苏省", "苏州市", "昆山市", 1989, 1.0),
    Region("510104", "四川省", "成都市", "锦江区", 1990, 1.5),
    Region("510107", "四川省", "成都市", "武侯区", 1990, 1.5),
    Region("510121", "四川省", "成都市", "金堂县", 0, 0.8),
    Region("500103", "重庆市", "重庆市", "渝中区", 1997, 1.5),
    Region("500106", "重庆市", "重庆市", "沙坪坝区", 1997, 1.2),
    Region("420102", "湖北省", "武汉市", "江岸区", 1983, 1.2),
    Region("420106", "湖北省", "武汉市", "武昌区", 1983, 1.5),
    Region("420111", "湖北省", "武汉市", "洪山区", 1983, 1.2),
    Region("430104", "湖南省", "长沙市", "岳麓区", 1983, 1.2),
    Region("430121", "湖南省", "长沙市", "长沙县", 0, 0.8),
    Region("610102", "陕西省", "西安市", "新城区", 1983, 1.0),
    Region("610113", "陕西省", "西安市", "雁塔区", 1983, 1.5),
    Region("370102", "山东省", "济南市", "历下区", 1983, 1.2),
    Region("370202", "山东省", "青岛市", "市南区", 1983, 1.2),
    Region("410105", "河南省", "郑州市", "金水区", 1983, 1.5),
    Region("350203", "福建省", "厦门市", "思明区", 1983, 1.2),
    Region("350121", "福建省", "福州市", "闽侯县", 0, 0.8),
    Region("210102", "辽宁省", "沈阳市", "和平区", 1983, 1.2),
    Region("210202", "辽宁省", "大连市", "中山区", 1983, 1.0),
    Region("230102", "黑龙江省", "哈尔滨市", "道里区", 1983, 1.0),
    Region("340104", "安徽省", "合肥市", "蜀山区", 1983, 1.0),
    Region("530102", "云南省", "昆明市", "五华区", 1983, 1.0),
    Region("450103", "广西壮族自治区", "南宁市", "青秀区", 1983, 0.8),
    Region("130102", "河北省", "石家庄市", "长安区", 1983, 0.8),
    Region("140121", "山西省", "太原市", "清徐县", 0, 0.6),
)

STREETS: tuple[str, ...] = (
    "人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "胜利路", "文化路", "长江路",
    "黄河路", "学府路", "科技路", "滨江路", "青年路", "光明路", "幸福路", "朝阳路", "复兴路",
    "东风路", "迎宾路", "花园路", "公园路", "体育路", "工业路", "北京路", "南京路", "延安路",
    "金融街", "世纪大道", "湖滨路", "锦绣路", "友谊路", "团结路", "红旗路", "振兴路", "育才路",
)

# CN mobile prefixes in use (1[3-9]x).
MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
)

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 35.0), ("163.com", 25.0), ("126.com", 10.0), ("139.com", 5.0), ("sina.com", 5.0),
    ("gmail.com", 5.0), ("hotmail.com", 4.0), ("foxmail.com", 3.0), ("sohu.com", 3.0),
    ("yahoo.com", 2.0),
)

FOREIGN_MALE: tuple[str, ...] = (
    "John", "James", "Michael", "David", "Robert", "William", "Thomas", "Daniel", "Paul", "Mark",
    "Peter", "Richard", "Andrew", "Hans", "Pierre", "Luca", "Kenji", "Hiroshi", "Minjun",
    "Alexander", "Ivan", "Carlos",
)
FOREIGN_FEMALE: tuple[str, ...] = (
    "Mary", "Jennifer", "Linda", "Sarah", "Emily", "Anna", "Maria", "Laura", "Sophie", "Emma",
    "Olivia", "Julia", "Yuki", "Sakura", "Jiwoo", "Elena", "Natalia", "Chloe",
)
FOREIGN_FAMILY: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Mueller", "Schmidt",
    "Dubois", "Rossi", "Garcia", "Rodriguez", "Tanaka", "Suzuki", "Sato", "Kim", "Park",
    "Ivanov", "Novak", "Jensen", "Nguyen",
)

# Risk-tolerance words used by fund platforms for C1..C5.
RISK_WORDS: tuple[str, ...] = ("保守型", "稳健型", "平衡型", "成长型", "进取型")

# Identity document type, as each channel writes it, indexed by person kind (CN, foreign, HKMO).
ID_TYPE_CODES: tuple[str, ...] = ("CN_RID", "PASSPORT", "HKMO_PERMIT")
ID_TYPE_BRANCH: tuple[str, ...] = ("居民身份证", "护照", "港澳居民来往内地通行证")
ID_TYPE_FUND: tuple[str, ...] = ("身份证", "护照", "港澳通行证")
# fmt: on


# ---------------------------------------------------------------------------------------------
# People

CN, FOREIGN, HKMO = 0, 1, 2  # person kinds, also the index into the ID_TYPE_* tables
DAY = 86_400
HISTORY = 3 * 365 * DAY  # source records, moves and number changes lie within the last 3 years

I64 = npt.NDArray[np.int64]
Rng = np.random.Generator


@dataclass
class People:
    """The ground truth. Times are seconds (days for ``*_on``) relative to the reference date."""

    person_id: list[str]
    kind: I64
    male: npt.NDArray[np.bool_]
    surname: list[str]
    given: list[str]
    latin: list[tuple[str, str]]  # (family, given) in pinyin or latin, capitalised
    birth: list[date]
    id_number: list[str]
    mobile: list[str]
    old_mobile: list[str]  # "" unless the person changed number at `mobile_changed`
    mobile_changed: I64
    city: list[str]
    address: list[str]
    old_city: list[str]  # "" unless the person moved at `moved`
    old_address: list[str]
    moved: I64
    email: list[str]
    aum: npt.NDArray[np.float64]
    risk: I64
    risk_on: I64
    prev_risk: I64  # the assessment before `risk_on`, shown by older records
    prev_risk_on: I64
    marketing: npt.NDArray[np.bool_]
    branch: I64
    rm_names: list[str]  # three relationship managers per branch
    household_phone_of: I64  # spouse whose mobile this person gives at the branch, or -1
    spouse_pairs: list[tuple[int, int]]
    twin_pairs: list[tuple[int, int]]

    def name(self, p: int) -> str:
        """The name as the person writes it: 张伟, or John Smith."""
        if self.kind[p] == FOREIGN:
            return f"{self.given[p]} {self.surname[p]}"
        return self.surname[p] + self.given[p]

    def paired(self) -> set[int]:
        """Members of a spouse or twin pair: the hard negatives."""
        return {q for pair in self.spouse_pairs + self.twin_pairs for q in pair}


def _weights(values: Sequence[float]) -> npt.NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()


_SURNAME_P = _weights([s.weight for s in SURNAMES])
_SURNAME_PINYIN = {s.text: s.pinyin for s in SURNAMES}
_CHARS = {True: MALE_CHARS, False: FEMALE_CHARS}
_CHAR_P = {m: _weights([w for _, w in _CHARS[m]]) for m in (True, False)}
_TOP = {m: [t for t in TOP_NAMES if (t[1] == "M") == m] for m in (True, False)}
_TOP_P = {m: _weights([t[2] for t in _TOP[m]]) for m in (True, False)}
_REGION_P = _weights([r.weight for r in REGIONS])
_OLD_REGIONS = np.array([i for i, r in enumerate(REGIONS) if r.since == 0])
_OLD_REGION_P = _weights([REGIONS[i].weight for i in _OLD_REGIONS])
_HOMOPHONES = {c: g.replace(c, "") for g in HOMOPHONE_GROUPS for c in g}


def _given_name(rng: Rng, male: bool) -> str:
    """One fresh given name (used for the few twins whose name is not a homophone variant)."""
    chars = _CHARS[male]
    length = 1 if rng.random() < 0.3 else 2
    idx = rng.choice(len(chars), size=length, replace=False, p=_CHAR_P[male])
    return "".join(chars[i][0] for i in idx)


def _given_names(rng: Rng, male: npt.NDArray[np.bool_]) -> list[str]:
    """Given names of 1 (30 %) or 2 distinct characters from the gender's weighted pool."""
    n = len(male)
    single = (rng.random(n) < 0.3).tolist()
    drawn: dict[bool, tuple[list[int], list[int]]] = {}
    for m in (True, False):
        size = len(_CHARS[m])
        first = rng.choice(size, size=n, p=_CHAR_P[m])
        second = rng.choice(size, size=n, p=_CHAR_P[m])
        second = np.where(second == first, (second + 1) % size, second)  # no 伟伟
        drawn[m] = (first.tolist(), second.tolist())
    out: list[str] = []
    for p, m in enumerate(male.tolist()):
        chars, (c1, c2) = _CHARS[m], drawn[m]
        out.append(chars[c1[p]][0] if single[p] else chars[c1[p]][0] + chars[c2[p]][0])
    return out


def _names(rng: Rng, kind: I64, male: npt.NDArray[np.bool_]) -> tuple[list[str], list[str]]:
    """Surname and given name per person (family and first name for foreigners)."""
    n = len(kind)
    surnames = [SURNAMES[i].text for i in rng.choice(len(SURNAMES), size=n, p=_SURNAME_P)]
    givens = _given_names(rng, male)
    top = (rng.random(n) < 0.07).tolist()
    top_pick = {m: rng.choice(len(_TOP[m]), size=n, p=_TOP_P[m]).tolist() for m in (True, False)}
    family = rng.integers(0, len(FOREIGN_FAMILY), n).tolist()
    first = rng.integers(0, 1 << 30, n).tolist()
    for p, m in enumerate(male.tolist()):
        if kind[p] == FOREIGN:
            pool = FOREIGN_MALE if m else FOREIGN_FEMALE
            surnames[p], givens[p] = FOREIGN_FAMILY[family[p]], pool[first[p] % len(pool)]
        elif top[p]:
            full = _TOP[m][top_pick[m][p]][0]
            surnames[p], givens[p] = full[0], full[1:]
    return surnames, givens


def homophone_variant(given: str, k: int) -> str:
    """`given` with one character swapped for a homophone; unchanged when none has one."""
    spots = [i for i, c in enumerate(given) if c in _HOMOPHONES]
    if not spots:
        return given
    i = spots[k % len(spots)]
    alts = _HOMOPHONES[given[i]]
    return given[:i] + alts[k // 7 % len(alts)] + given[i + 1 :]


def _latin(surname: str, given: str, kind: int, cache: dict[str, str]) -> tuple[str, str]:
    if kind == FOREIGN:
        return surname, given
    if given not in cache:
        cache[given] = "".join(lazy_pinyin(given)).capitalize()
    return _SURNAME_PINYIN[surname].capitalize(), cache[given]


def _birth_days(rng: Rng, n: int, as_of: date) -> I64:
    """Days since 1970-01-01; adult ages centred on the early forties."""
    age = rng.normal(42, 14, n)
    outside = (age < 18) | (age > 88)  # redrawn, not clipped: no spike on one birth date
    age[outside] = rng.uniform(18, 88, int(outside.sum()))
    age_days = (age * 365.25).astype(np.int64)
    return np.int64((as_of - date(1970, 1, 1)).days) - age_days


def _birth_regions(rng: Rng, years: I64) -> I64:
    """Birthplace codes that existed in the birth year (python-stdnum checks this)."""
    since = np.array([r.since for r in REGIONS])
    region = rng.choice(len(REGIONS), size=len(years), p=_REGION_P)
    too_new = since[region] > years
    region[too_new] = rng.choice(_OLD_REGIONS, size=int(too_new.sum()), p=_OLD_REGION_P)
    return region.astype(np.int64)


def _resident_ids(
    region: I64,
    birth: list[date],
    male: npt.NDArray[np.bool_],
    seq: I64,
    twins: list[tuple[int, int]],
) -> list[str]:
    """18-digit IDs; the sequence parity encodes gender; twins get adjacent sequence numbers."""
    seq = seq // 2 * 2 + male.astype(np.int64)
    for a, b in twins:
        seq[b] = (seq[a] // 2 + 1) % 500 * 2 + int(male[b])
    ids: list[str] = []
    seen: set[str] = set()
    for p, d in enumerate(birth):
        s = int(seq[p])
        while True:
            body = f"{REGIONS[region[p]].code}{d:%Y%m%d}{s:03d}"
            rid = body + rid_check_char(body)
            if rid not in seen:
                break
            s = (s + 2) % 1000  # collision: next number of the same gender
        seen.add(rid)
        ids.append(rid)
    return ids


def _foreign_id(rng: Rng, kind: int) -> str:
    if kind == HKMO:
        return ("H" if rng.random() < 0.85 else "M") + f"{rng.integers(10**7, 10**8)}"
    if rng.random() < 0.7:
        return "ABCGKLNPRSTX"[rng.integers(12)] + f"{rng.integers(10**7, 10**8)}"
    return f"{rng.integers(10**8, 10**9)}"


def _unique_mobiles(rng: Rng, count: int) -> list[str]:
    prefixes = np.array([int(p) for p in MOBILE_PREFIXES], dtype=np.int64)
    numbers: list[int] = []
    seen: set[int] = set()
    while len(numbers) < count:
        prefix = prefixes[rng.integers(0, len(prefixes), count)]
        for x in (prefix * 10**8 + rng.integers(0, 10**8, count)).tolist():
            if x not in seen and len(numbers) < count:
                seen.add(x)
                numbers.append(x)
    return [str(x) for x in numbers]


def _address(rng: Rng, region: int) -> str:
    r = REGIONS[region]
    province = r.province if r.province != r.city and rng.random() < 0.3 else ""
    street = STREETS[rng.integers(len(STREETS))]
    text = f"{province}{r.city}{r.district}{street}{rng.integers(1, 600)}号"
    if rng.random() < 0.7:
        text += f"{rng.integers(1, 30)}栋{rng.integers(2, 33)}{rng.integers(1, 5):02d}室"
    return text


def _emails(rng: Rng, latin: list[tuple[str, str]], birth: list[date]) -> list[str]:
    domains = [d for d, _ in EMAIL_DOMAINS]
    dom_idx = rng.choice(len(domains), size=len(latin), p=_weights([w for _, w in EMAIL_DOMAINS]))
    style = rng.integers(0, 4, len(latin)).tolist()
    num = rng.integers(10**5, 10**10, len(latin)).tolist()
    seen: set[str] = set()
    out: list[str] = []
    for p, (fam, giv) in enumerate(latin):
        fam, giv = fam.lower(), giv.lower()
        dom = domains[dom_idx[p]]
        local = [
            f"{fam}{giv}{birth[p].year}",
            f"{giv}.{fam}",
            f"{fam}{giv}{num[p] % 100:02d}",
            f"{fam[0]}{giv}{birth[p]:%y}",
        ][style[p]]
        if dom == "qq.com":
            local = str(num[p])
        email, k = f"{local}@{dom}", 1
        while email in seen:  # a shared email would be false hard evidence between two people
            email, k = f"{local}{k}@{dom}", k + 1
        seen.add(email)
        out.append(email)
    return out


def _pairs(rng: Rng, kind: I64) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spouse pairs (2 % of persons) and twin pairs (1 %), at least one of each from 10 people
    up, drawn together so that nobody is in two pairs."""
    n, chinese = len(kind), np.flatnonzero(kind == CN)
    spouses = max(1, round(n * 0.01)) if n >= 10 else 0
    twins = max(1, round(n * 0.005)) if n >= 10 else 0
    count = min(spouses + twins, len(chinese) // 2)
    pairs = [(int(a), int(b)) for a, b in rng.choice(chinese, (count, 2), replace=False)]
    return pairs[:spouses], pairs[spouses:]


def make_people(n: int, rng: Rng, as_of: date) -> People:
    """Draw `n` people; hard-negative pairs share what real spouses and twins share."""
    kind = rng.choice(3, size=n, p=[0.965, 0.03, 0.005]).astype(np.int64)
    male = rng.random(n) < 0.49
    spouses, twins = _pairs(rng, kind)
    for a, b in spouses:
        male[b] = not male[a]
    for a, b in twins:
        male[b] = male[a] if rng.random() < 0.7 else not male[a]

    surname, given = _names(rng, kind, male)
    days = _birth_days(rng, n, as_of)
    adult = (as_of - date(1970, 1, 1)).days - 18 * 366  # latest birth day of an adult
    for a, b in spouses:
        days[b] = min(days[a] + int(rng.normal(0, 3 * 365)), adult)
    for a, b in twins:
        surname[b], days[b] = surname[a], days[a]
        # Often a homophone of the sibling's name (张伟 / 张玮): looks exactly like a typo.
        salt = int(rng.integers(1 << 30))
        given[b] = homophone_variant(given[a], salt) if rng.random() < 0.6 else given[a]
        while given[b] == given[a]:
            given[b] = _given_name(rng, bool(male[b]))
    birth: list[date] = days.astype("datetime64[D]").tolist()
    years = np.array([d.year for d in birth])

    region = _birth_regions(rng, years)
    home = np.where(rng.random(n) < 0.35, rng.choice(len(REGIONS), size=n, p=_REGION_P), region)
    for a, b in twins:
        region[b] = region[a]
    ids = _resident_ids(region, birth, male, rng.integers(0, 1000, n), twins)
    for p in np.flatnonzero(kind != CN).tolist():
        ids[p] = _foreign_id(rng, int(kind[p]))

    changed = rng.random(n) < 0.10
    changed[[a for a, _ in spouses]] = False  # keeps the shared household number the same
    mobiles = _unique_mobiles(rng, n + int(changed.sum()))
    old_mobile = [""] * n
    for j, p in enumerate(np.flatnonzero(changed).tolist()):
        old_mobile[p] = mobiles[n + j]

    moved = rng.random(n) < 0.12
    old_home = np.where(rng.random(n) < 0.7, home, rng.choice(len(REGIONS), size=n, p=_REGION_P))
    address = [_address(rng, int(home[p])) for p in range(n)]
    old_address = [_address(rng, int(old_home[p])) if moved[p] else "" for p in range(n)]
    moved_at = -rng.integers(30 * DAY, HISTORY, n)
    for a, b in spouses + twins:  # one household: same address history
        home[b], old_home[b], moved_at[b] = home[a], old_home[a], moved_at[a]
        address[b], old_address[b] = address[a], old_address[a]
    city = [REGIONS[h].city for h in home.tolist()]
    old_city = [REGIONS[h].city if old_address[p] else "" for p, h in enumerate(old_home.tolist())]

    cache: dict[str, str] = {}
    latin = [_latin(surname[p], given[p], int(kind[p]), cache) for p in range(n)]
    aum = np.where(rng.random(n) < 0.03, 0.0, np.round(rng.lognormal(np.log(120_000), 1.6, n), 2))
    risk = rng.choice(np.arange(1, 6), size=n, p=[0.15, 0.33, 0.30, 0.16, 0.06]).astype(np.int64)
    risk_on = -rng.integers(0, 730, n)
    n_rms = 3 * 3 * len(REGIONS)  # three branches per district, three managers per branch
    rm_surnames, rm_given = _names(rng, np.zeros(n_rms, dtype=np.int64), rng.random(n_rms) < 0.5)
    rm_names = [s + g for s, g in zip(rm_surnames, rm_given, strict=True)]
    household = np.full(n, -1, dtype=np.int64)
    for a, b in spouses:
        household[b] = a
    return People(
        person_id=[f"P{p + 1:07d}" for p in range(n)],
        kind=kind,
        male=male,
        surname=surname,
        given=given,
        latin=latin,
        birth=birth,
        id_number=ids,
        mobile=mobiles[:n],
        old_mobile=old_mobile,
        mobile_changed=-rng.integers(30 * DAY, HISTORY, n),
        city=city,
        address=address,
        old_city=old_city,
        old_address=old_address,
        moved=moved_at,
        email=_emails(rng, latin, birth),
        aum=aum,
        risk=risk,
        risk_on=risk_on,
        prev_risk=np.clip(risk + rng.choice([-1, 0, 1], size=n, p=[0.3, 0.4, 0.3]), 1, 5),
        prev_risk_on=risk_on - rng.integers(300, 500, n),
        marketing=rng.random(n) < 0.6,
        branch=home * 3 + rng.integers(0, 3, n),
        rm_names=rm_names,
        household_phone_of=household,
        spouse_pairs=spouses,
        twin_pairs=twins,
    )
