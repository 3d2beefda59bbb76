"""Chinese surname data the name keys need: readings, compound surnames, frequency order.

pypinyin reads characters with their everyday pronunciation, which is wrong for many surnames
(单 is "dan" in 单位 but "shan" as a surname), and it has no surname mode, so the readings live
here. Readings are toneless and ü is written u (lu), like the name keys.
"""

from __future__ import annotations

# Single-character surnames whose surname reading differs from pypinyin's default reading.
POLYPHONIC_SURNAMES: dict[str, str] = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "覃": "qin",
    "乐": "yue",
    "翟": "zhai",
    "缪": "miao",
    "盖": "ge",
    "繁": "po",
    "种": "chong",
    "秘": "bi",
    "句": "gou",
    "员": "yun",
    "便": "pian",
    "召": "shao",
    "隗": "wei",
    "郇": "xun",
    "薄": "bo",
    "洗": "xian",
    "都": "du",
    "能": "nai",
    "折": "she",
    "阚": "kan",
    "长": "chang",
    "藏": "zang",
    "卜": "bu",
    "蕃": "pi",
    "粘": "nian",
}

# Two-character surnames, with their readings (several contain polyphonic characters).
COMPOUND_SURNAMES: dict[str, str] = {
    "欧阳": "ouyang",
    "司马": "sima",
    "诸葛": "zhuge",
    "上官": "shangguan",
    "东方": "dongfang",
    "皇甫": "huangfu",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "长孙": "zhangsun",
    "夏侯": "xiahou",
    "令狐": "linghu",
    "宇文": "yuwen",
    "慕容": "murong",
    "司徒": "situ",
    "司空": "sikong",
    "轩辕": "xuanyuan",
    "端木": "duanmu",
    "公孙": "gongsun",
    "独孤": "dugu",
    "南宫": "nangong",
    "西门": "ximen",
    "钟离": "zhongli",
    "闻人": "wenren",
    "赫连": "helian",
    "澹台": "tantai",
    "公羊": "gongyang",
    "太史": "taishi",
    "申屠": "shentu",
    "濮阳": "puyang",
    "淳于": "chunyu",
    "单于": "chanyu",
    "呼延": "huyan",
    "百里": "baili",
    "东郭": "dongguo",
    "拓跋": "tuoba",
    "鲜于": "xianyu",
    "第五": "diwu",
    "乐正": "yuezheng",
    "司寇": "sikou",
    "亓官": "qiguan",
    "子车": "ziju",
    "颛孙": "zhuansun",
    "巫马": "wuma",
    "公西": "gongxi",
    "漆雕": "qidiao",
    "壤驷": "rangsi",
    "公良": "gongliang",
    "夹谷": "jiagu",
    "宰父": "zaifu",
    "谷梁": "guliang",
    "段干": "duangan",
    "左丘": "zuoqiu",
    "梁丘": "liangqiu",
    "东门": "dongmen",
    "闾丘": "luqiu",
    "公冶": "gongye",
    "宗政": "zongzheng",
    "太叔": "taishu",
    "羊舌": "yangshe",
    "微生": "weisheng",
    "仲孙": "zhongsun",
    "叔孙": "shusun",
}

# The most common surnames, most frequent first (2020 census order). Used to recognise
# "老王"-style callers and to guess which end of a romanized name is the family name.
COMMON_SURNAMES: str = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程"
    "魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾"
    "龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柯庄樊牛兰季殷单聂葛"
)
