"""The legacy (2008-2018) statistics indicators as data (report-format.md §3.4).

Reports under the 2007 regulation had no imposed table, but most 政府信息公开情况统计表 draw
their rows from one national list (below, in its order) or a provincial short form
(`主动公开文件数`, `网上申请数`, `信函、传真申请数`, …).  `parsers/legacy.py` reads rows by
these labels and never names an indicator itself, like `templates.py` for the 2019/2021
tables.

Labels are matched on their *normalized* form (`labels.normalize`: half-width brackets,
no spaces, simplified characters, `：` → `:`) after the numbering (`1.`, `（一）`) and a
leading `其中:` are cut off.  The first row in `ROWS` whose `keys` occur in the label (and
none of its `not_keys`) wins, so specific labels come before the general ones they
contain.  Keys are chosen so that no label of the 2019/2021 templates matches
(`同意部分公开答复数`, never `（二）部分公开`; `涉及国家秘密`, never `1.属于国家秘密`).

Some sub-rows of the national list say nothing of what they belong to (`被依法纠错数` under
行政复议数量, 行政诉讼数量 and 举报投诉数量 alike; `其中：涉及国家秘密` under
不同意公开答复数): they are `SubRow`s, resolved to the nearest parent row above them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Indicator:
    key: str  # `legacy.KEY.year` / `legacy.KEY.cumulative`
    label: str  # the national list's label
    keys: tuple[str, ...]  # normalized substrings that identify the row in a table
    not_keys: tuple[str, ...] = ()
    parent: str | None = None  # the row it is a part of (其中, 1. 2. …) in the national list
    unit: str | None = None  # the national list's unit; for display only, never put on a fact
    prose: tuple[str, ...] = ()  # regexes naming it in a sentence (on the normalized clause)


@dataclass(frozen=True)
class SubRow:
    """A sub-row label whose indicator is decided by the parent row above it."""
    label: str
    keys: tuple[str, ...]
    by_parent: dict[str, str] = field(default_factory=dict)  # parent key → indicator key
    not_keys: tuple[str, ...] = ()


_I = Indicator

INDICATORS: tuple[Indicator, ...] = (
    # 一、主动公开情况
    _I("active_total", "主动公开政府信息数",
       ("主动公开政府信息数", "主动公开信息数", "主动公开文件数", "主动公开政府信息总数", "主动公开政府信息条数"),
       ("规范性",), unit="条",
       prose=(r"主动公开(?:各类)?(?:政府)?信息(?:总数|条数|数)?", r"主动公开(?:各类)?(?:政府)?文件(?:数)?")),
    _I("active_normative_docs", "其中：主动公开规范性文件数", ("主动公开规范性文件",), (), "active_total", "条",
       prose=(r"主动公开(?:了)?规范性文件(?:数)?",)),
    _I("normative_docs_made", "制发规范性文件总数", ("制发规范性文件",), (), "active_total", "件",
       prose=(r"制发(?:了)?规范性文件(?:总数|数)?",)),
    _I("via_gazette", "政府公报公开政府信息数", ("公报公开",), (), "active_total", "条",
       prose=(r"(?:通过)?(?:政府)?公报(?:主动)?公开(?:政府)?信息(?:数)?",)),
    _I("via_website", "政府网站公开政府信息数", ("网站公开政府信息", "政府网站公开数", "网站公开信息数"),
       ("在线访谈",), "active_total", "条",
       prose=(r"(?:通过)?(?:政府)?(?:门户)?网站(?:主动)?公开(?:政府)?信息(?:数)?",)),
    _I("via_weibo", "政务微博公开政府信息数", ("微博公开",), (), "active_total", "条",
       prose=(r"(?:通过)?政务微博(?:主动)?公开(?:政府)?信息(?:数)?",)),
    _I("via_weixin", "政务微信公开政府信息数", ("微信公开",), (), "active_total", "条",
       prose=(r"(?:通过)?政务微信(?:主动)?公开(?:政府)?信息(?:数)?",)),
    _I("via_other", "其他方式公开政府信息数", ("其他方式公开",), (), "active_total", "条",
       prose=(r"(?:通过)?其他方式(?:主动)?公开(?:政府)?信息(?:数)?",)),
    # 二、回应解读情况
    _I("hotspot_responses", "回应公众关注热点或重大舆情数", ("回应公众关注热点", "重大舆情数"), (), None, "次",
       prose=(r"回应公众关注热点(?:或重大舆情)?(?:数)?",)),
    _I("press_conferences_heads", "其中：主要负责同志参加新闻发布会次数", ("负责同志参加新闻发布会",), (),
       "press_conferences", "次", prose=(r"主要负责同志参加(?:了)?新闻发布会(?:次数)?",)),
    _I("press_conferences", "参加或举办新闻发布会总次数", ("新闻发布会总次数", "举办新闻发布会", "新闻发布会次数"),
       ("负责同志",), None, "次", prose=(r"(?:参加或)?(?:举办|召开)(?:了)?新闻发布会(?:总次数|次数)?",)),
    _I("online_interviews_heads", "其中：主要负责同志参加政府网站在线访谈次数", ("负责同志参加政府网站在线访谈",
       "负责同志参加在线访谈"), (), "online_interviews", "次",
       prose=(r"主要负责同志参加(?:了)?(?:政府网站)?在线访谈(?:次数)?",)),
    _I("online_interviews", "政府网站在线访谈次数", ("在线访谈次数", "在线访谈数"), ("负责同志",), None, "次",
       prose=(r"(?:开展|举办)(?:了)?(?:政府网站)?在线访谈(?:次数)?",)),
    _I("interpretations", "政策解读稿件发布数", ("政策解读稿件", "解读稿件发布"), (), None, "篇",
       prose=(r"(?:发布(?:了)?)?政策解读(?:稿件|文章)(?:发布数|发布)?",)),
    _I("weibo_weixin_responses", "微博微信回应事件数", ("微博微信回应",), (), None, "次"),
    _I("other_responses", "其他方式回应事件数", ("其他方式回应",), (), None, "次"),
    # 三、依申请公开情况
    _I("requests_in_person", "当面申请数", ("当面申请",), (), "requests_received", "件",
       prose=(r"当面(?:提出)?(?:的)?申请(?:数)?",)),
    _I("requests_letter_fax", "信函、传真申请数", ("信函、传真申请", "信函传真申请", "信函/传真申请"), (),
       "requests_received", "件", prose=(r"信函[、/]?传真(?:方式)?申请(?:数)?",)),
    _I("requests_fax", "传真申请数", ("传真申请",), ("信函",), "requests_received", "件",
       prose=(r"传真(?:方式)?申请(?:数)?",)),
    _I("requests_online", "网络申请数", ("网络申请", "网上申请"), (), "requests_received", "件",
       prose=(r"(?:网络|网上)(?:提出)?(?:的)?申请(?:数)?",)),
    _I("requests_letter", "信函申请数", ("信函申请",), ("传真",), "requests_received", "件",
       prose=(r"信函(?:方式)?申请(?:数)?",)),
    _I("requests_closed_on_time", "按时办结数", ("按时办结",), (), "requests_closed", "件",
       prose=(r"按时办结(?:数)?",)),
    _I("requests_closed_extended", "延期办结数", ("延期办结",), (), "requests_closed", "件",
       prose=(r"延期办结(?:数)?",)),
    _I("requests_closed", "申请办结数", ("申请办结数", "办结申请数", "办结数"), ("按时", "延期"), None, "件",
       prose=(r"办结(?:了)?(?:申请)?(?:数)?",)),
    _I("requests_received", "收到申请数",
       ("收到申请数", "收到申请总数", "受理依申请公开", "受理政府信息公开申请", "受理申请数", "申请总数",
        "依申请公开信息总数"),
       ("本年新收", "上年结转", "办结", "答复"), None, "件",
       prose=(r"(?:收到|受理|接收|接到)(?:了)?(?:各类|公民、法人或其他组织(?:的)?)?"
              r"(?:政府信息公开|依申请公开(?:政府信息)?|信息公开)?(?:的)?申请(?:总数|数)?",
              r"政府信息公开申请(?:总数|数)")),
    _I("answers_already_public", "属于已主动公开范围数", ("已主动公开范围", "属于已主动公开"), (),
       "answers_total", "件", prose=(r"属于已主动公开(?:范围|的)?",)),
    _I("answers_partly_granted", "同意部分公开答复数", ("同意部分公开", "部分公开答复", "部分同意公开"), (),
       "answers_total", "件", prose=(r"(?:同意)?部分公开(?:答复)?(?:数)?",)),
    _I("answers_refused", "不同意公开答复数", ("不同意公开", "不予公开答复", "不予公开数"), (),
       "answers_total", "件", prose=(r"不(?:同意|予以?)公开(?:答复)?(?:数)?",)),
    _I("answers_granted", "同意公开答复数", ("同意公开答复", "同意公开数", "同意全部公开"), ("部分", "不同意"),
       "answers_total", "件", prose=(r"同意(?:全部)?公开(?:答复)?(?:数)?", r"予以公开")),
    _I("answers_not_this_agency", "不属于本行政机关公开数", ("不属于本行政机关", "不属于本机关", "非本机关"), (),
       "answers_total", "件", prose=(r"不属于本(?:行政)?机关(?:公开|掌握)?(?:范围)?(?:的)?",)),
    _I("answers_not_exist", "申请信息不存在数", ("信息不存在",), (), "answers_total", "件",
       prose=(r"(?:申请(?:的)?)?信息不存在(?:数)?",)),
    _I("answers_amend", "告知作出更改补充数", ("更改补充", "更改、补充"), (), "answers_total", "件",
       prose=(r"告知(?:申请人)?(?:作出)?更改[、]?补充(?:数)?",)),
    _I("answers_other_channel", "告知通过其他途径办理数", ("其他途径",), (), "answers_total", "件",
       prose=(r"告知(?:申请人)?通过其他途径(?:办理)?(?:数)?",)),
    _I("answers_other", "其他答复数", ("其他答复", "其他类型答复"), (), "answers_total", "件"),
    _I("answers_total", "申请答复数", ("申请答复数", "答复总数", "对申请的答复", "答复申请数"),
       ("同意", "不予", "其他"), None, "件", prose=(r"(?:作出|予以)?答复(?:了)?(?:申请)?(?:总数|数)?",)),
    _I("refused_state_secret", "涉及国家秘密", ("涉及国家秘密",), (), "answers_refused", "件"),
    _I("refused_commercial_secret", "涉及商业秘密", ("涉及商业秘密",), (), "answers_refused", "件"),
    _I("refused_privacy", "涉及个人隐私", ("涉及个人隐私",), (), "answers_refused", "件"),
    _I("refused_security", "危及国家安全、公共安全、经济安全和社会稳定",
       ("危及国家安全", "经济安全和社会稳定"), (), "answers_refused", "件"),
    _I("refused_not_gov_info", "不是《条例》所指政府信息", ("所指政府信息", "不是政府信息"), (), "answers_refused", "件"),
    _I("refused_other_law", "法律法规规定的其他情形", ("法律法规规定的其他",), (), "answers_refused", "件"),
    # 四~六、行政复议、行政诉讼、举报投诉
    _I("suits_and_complaints", "接受行政诉讼、举报数", ("行政诉讼、举报", "行政诉讼和举报", "行政诉讼及举报"),
       (), None, "件", prose=(r"(?:接受)?行政诉讼[、和及]举报(?:投诉)?(?:案件)?(?:数)?",)),
    _I("reviews", "行政复议数量", ("行政复议数", "行政复议案件数", "行政复议件数", "行政复议申请数"),
       (), None, "件", prose=(r"行政复议(?:案件|申请)?(?:数量|数)?",)),
    _I("suits", "行政诉讼数量", ("行政诉讼数", "行政诉讼案件数", "行政诉讼件数"), (), None, "件",
       prose=(r"行政诉讼(?:案件)?(?:数量|数)?",)),
    _I("complaints", "举报投诉数量", ("举报投诉数", "投诉举报数", "举报投诉案件数"), ("诉讼",), None, "件",
       prose=(r"(?:举报投诉|投诉举报)(?:案件)?(?:数量|数)?",)),
    _I("reviews_upheld", "维持具体行政行为数", (), (), "reviews", "件"),
    _I("reviews_corrected", "被依法纠错数", (), (), "reviews", "件"),
    _I("reviews_other", "其他情形数", (), (), "reviews", "件"),
    _I("suits_upheld", "维持具体行政行为或者驳回原告诉讼请求数", (), (), "suits", "件"),
    _I("suits_corrected", "被依法纠错数", (), (), "suits", "件"),
    _I("suits_other", "其他情形数", (), (), "suits", "件"),
    _I("complaints_upheld", "维持具体行政行为数", (), (), "complaints", "件"),
    _I("complaints_corrected", "被纠错数", (), (), "complaints", "件"),
    _I("complaints_other", "其他情形数", (), (), "complaints", "件"),
    # 七、费用；八、机构建设和保障经费；九、会议和培训
    _I("fees", "依申请公开信息收取的费用", ("收取的费用", "收取费用", "收费减免", "减免金额"), (), None, "万元",
       prose=(r"(?:依申请公开(?:政府)?信息)?收取(?:的|了)?(?:相关)?费用", r"收费(?:总额|金额)")),
    _I("units", "政府信息公开工作专门机构数", ("专门机构",), (), None, "个",
       prose=(r"政府信息公开(?:工作)?专门机构",)),
    _I("reading_points", "设置政府信息公开查阅点数", ("查阅点",), (), None, "个",
       prose=(r"(?:设置(?:了)?)?(?:政府信息公开)?查阅点",)),
    _I("staff_full_time", "专职人员数", ("专职人员", "专职工作人员"), (), "staff", "人",
       prose=(r"专职(?:工作)?人员",)),
    _I("staff_part_time", "兼职人员数", ("兼职人员", "兼职工作人员"), (), "staff", "人",
       prose=(r"兼职(?:工作)?人员",)),
    _I("staff", "从事政府信息公开工作人员数", ("从事政府信息公开工作人员", "信息公开工作人员数", "工作人员数"),
       ("专职", "兼职", "培训"), None, "人"),
    _I("budget", "政府信息公开专项经费", ("专项经费",), (), None, "万元",
       prose=(r"(?:政府信息公开(?:工作)?)?专项经费",)),
    _I("meetings", "召开政府信息公开工作会议或专题会议数", ("召开政府信息公开工作会议", "专题会议数", "工作会议数"),
       (), None, "次"),
    _I("trainings", "举办各类培训班数", ("培训班",), (), None, "次", prose=(r"举办(?:了)?(?:各类)?培训班",)),
    _I("trainees", "接受培训人员数", ("接受培训人员", "培训人员数", "参训人员"), (), None, "人次",
       prose=(r"(?:接受培训|参训)(?:人员)?(?:数)?",)),
)

BY_KEY: dict[str, Indicator] = {i.key: i for i in INDICATORS}

# Sub-rows named by what they are, not by what they belong to.
_PARENTS3 = ("reviews", "suits", "complaints")
SUB_ROWS: tuple[SubRow, ...] = (
    SubRow("维持具体行政行为数", ("维持具体行政行为", "驳回原告", "维持原"),
           {p: f"{p}_upheld" for p in _PARENTS3}),
    SubRow("被依法纠错数", ("纠错",), {p: f"{p}_corrected" for p in _PARENTS3}),
    SubRow("其他情形数", ("其他情形",), {p: f"{p}_other" for p in _PARENTS3}, ("法律法规",)),
)

# Rows that need their parent row above to be read: the generic sub-rows and the
# reasons for refusal (a `其中：涉及国家秘密` with no 不同意公开答复数 above is not read).
NEEDS_PARENT: frozenset[str] = frozenset(i.key for i in INDICATORS if i.parent == "answers_refused")


def _as_subrow(ind: Indicator) -> SubRow:
    return SubRow(ind.label, ind.keys, {ind.parent: ind.key} if ind.parent else {}, ind.not_keys)


# Match order: generic sub-rows after the rows whose labels contain their words
# (`法律法规规定的其他情形` is a refusal reason, not a `其他情形数`).
ROWS: tuple[Indicator | SubRow, ...] = tuple(i for i in INDICATORS if i.keys) + SUB_ROWS

# The unit column's words and the units written after a number or inside a label.
UNITS: tuple[str, ...] = ("人次", "万元", "元", "条", "件", "次", "篇", "个", "人", "名", "项", "份", "场",
                          "期", "家", "起", "宗", "处")

# Column headers of a statistics table (normalized, whole cell).
# Whole-cell patterns, tried in this order (`本年累计` is the year's figure, `历年累计`
# the running total).  `note` columns (remarks, last year's figure, the change) are not read.
COLUMN_HEADERS: dict[str, tuple[str, ...]] = {
    "unit": (r"(?:计量|计算)?单位",),
    "serial": (r"序号", r"编号"),
    "note": (r"备注", r"说明", r"(?:比)?上年(?:度)?.{0,6}", r"去年.{0,6}", r"同比.{0,6}", r"增减.{0,6}",
             r"增长.{0,6}"),
    "label": (r"(?:统计)?指标(?:名称)?", r"(?:统计)?项目(?:名称)?", r"名称", r"内容", r"类别", r"统计事项"),
    "year": (r"本年(?:度)?(?:数|数量|数据|数字|统计数|累计)?", r"\d{4}年(?:度)?(?:数|数量|数据|统计数)?",
             r"统计数(?:据|量)?", r"数量", r"数值", r"数据", r"数字", r"本期(?:数)?", r"年度(?:数)?"),
    "cumulative": (r".{0,6}累计(?:数|数量|值)?", r"历年累计.{0,6}", r"累计\(.{0,8}\)"),
}


@dataclass(frozen=True)
class Sum:
    """`legacy.sums`: a total and its parts.  `forms` are the complete part sets a table
    may list (one is needed); `extras` are parts added when the table lists them too."""
    total: str
    forms: tuple[tuple[str, ...], ...]
    extras: tuple[str, ...] = ()


_NATIONAL_ANSWERS = ("answers_already_public", "answers_granted", "answers_partly_granted", "answers_refused",
                     "answers_not_this_agency", "answers_not_exist", "answers_amend", "answers_other_channel")
_SHORT_ANSWERS = ("answers_granted", "answers_partly_granted", "answers_refused", "answers_other")

SUMS: tuple[Sum, ...] = (
    Sum("requests_received", (("requests_in_person", "requests_online", "requests_letter", "requests_fax"),
                              ("requests_in_person", "requests_online", "requests_letter_fax"))),
    Sum("answers_total", (_NATIONAL_ANSWERS, _SHORT_ANSWERS),
        tuple(k for k in _NATIONAL_ANSWERS + ("answers_other",))),
    Sum("answers_refused", (tuple(i.key for i in INDICATORS if i.parent == "answers_refused"),)),
    *(Sum(p, ((f"{p}_upheld", f"{p}_corrected", f"{p}_other"),)) for p in _PARENTS3),
    Sum("staff", (("staff_full_time", "staff_part_time"),)),
)
