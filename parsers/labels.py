"""Normalizing the labels written in real reports, so templates can match them.

Real labels mix full- and half-width forms (`（一）`/`(一)`, `１２`), carry spaces and
line breaks inside words (`规 章`, `本年新<br>制作数量`), come from traditional-character
mirror sites (`規范性文件`, `第二十條`), and have typos the template must still find.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional → simplified for the characters that occur in the template labels and
# section headings.  A full converter (OpenCC) is far larger than the closed vocabulary
# of these forms needs.
_TRAD = str.maketrans({
    "規": "规", "範": "范", "條": "条", "項": "项", "處": "处", "決": "决", "數": "数",
    "國": "国", "門": "门", "開": "开", "資": "资", "訊": "讯", "況": "况", "報": "报",
    "審": "审", "結": "结", "訴": "诉", "訟": "讼", "複": "复", "議": "议", "請": "请",
    "總": "总", "計": "计", "與": "与", "實": "实", "業": "业", "團": "团", "體": "体",
    "構": "构", "組": "组", "織": "织", "務": "务", "會": "会", "統": "统", "戶": "户",
    "費": "费", "購": "购", "額": "额", "採": "采", "強": "强", "製": "制", "廢": "废",
    "現": "现", "行": "行", "効": "效", "這": "这", "區": "区", "縣": "县", "鄉": "乡",
    "鎮": "镇", "辦": "办", "廳": "厅", "機": "机", "關": "关", "許": "许", "於": "于",
    "屬": "属", "內": "内", "類": "类", "過": "过", "程": "程", "執": "执", "卷": "卷",
    "詢": "询", "掌": "掌", "沒": "没", "補": "补", "確": "确", "舉": "举", "訪": "访",
    "複": "复", "費": "费", "納": "纳", "無": "无", "據": "据", "維": "维", "糾": "纠",
    "尚": "尚", "問": "问", "題": "题", "進": "进", "他": "他", "須": "须", "們": "们",
    "轉": "转", "繼": "继", "續": "续", "辦": "办", "護": "护", "權": "权", "益": "益",
    "權": "权", "險": "险", "穩": "稳", "違": "违", "證": "证", "發": "发", "佈": "布",
    "時": "时", "間": "间", "來": "来", "源": "源", "號": "号", "錄": "录", "單": "单",
    "項": "项", "幣": "币", "萬": "万", "元": "元", "圍": "围", "為": "为", "後": "后",
    "經": "经", "復": "复", "紀": "纪", "書": "书", "專": "专", "欄": "栏", "節": "节",
    "編": "编", "幾": "几", "應": "应", "優": "优", "養": "养", "衛": "卫", "導": "导",
    "農": "农", "產": "产", "戰": "战", "環": "环", "識": "识", "點": "点",
})

# Typos and variants seen in real reports, mapped onto the template's words.
_VARIANTS: tuple[tuple[str, str], ...] = (
    ("现在行有效", "现行有效"),
    ("结转下一年度", "结转下年度"),
    ("第二十条(", "第二十条第("),
    ("三安全一稳定", "三安全一稳定"),
)

_SPACE = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")


def normalize(text: str) -> str:
    """Fold width, drop whitespace, simplify characters, fix known variants."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits, brackets, letters
    text = text.translate(_TRAD)
    text = _SPACE.sub("", text)
    text = text.replace("“", "").replace("”", "").replace('"', "")
    text = text.replace("〔", "(").replace("〕", ")").replace("【", "(").replace("】", ")")
    text = text.replace("，", ",").replace("：", ":").replace("；", ";")
    for wrong, right in _VARIANTS:
        text = text.replace(wrong, right)
    return text


def normalize_keep_spaces(text: str) -> str:
    """Like `normalize`, but whitespace runs become one space (for prose and titles)."""
    text = unicodedata.normalize("NFKC", text).translate(_TRAD)
    return _SPACE.sub(" ", text).strip()


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|\([一二三四五六七八九十]+\)|\d{1,2}[、.．)](?!\d))")


def strip_numbering(label: str) -> str:
    """`(一)予以公开` → `予以公开`; `3.其他` → `其他` (on a normalized label)."""
    prev = None
    while prev != label:
        prev = label
        label = _NUMBERING.sub("", label)
    return label


def matches(label: str, keys: tuple[str, ...], not_keys: tuple[str, ...] = ()) -> bool:
    """True when a normalized label contains any key and none of the not_keys."""
    return any(k in label for k in keys) and not any(k in label for k in not_keys)
