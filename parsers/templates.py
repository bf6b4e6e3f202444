"""The two official report templates as data.

Everything the parsers know about the tables lives here: row keys, column keys, the
labels that identify them, and which version uses which.  The mapping code in
`parsers/mapping.py` reads these structures and never names a row itself, so a third
template version is a data change.

Label matching works on *normalized* labels (see `parsers/labels.py`): half-width
brackets and digits, no whitespace, simplified characters.  A row or column is matched
by `keys` (any of these substrings identifies it) and rejected by `not_keys`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    keys: tuple[str, ...]
    not_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    keys: tuple[str, ...]
    not_keys: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()  # active rows: the column keys of this row, in order
    group: str = ""  # applications: the group label above the row, if any


# --- 二、主动公开政府信息情况 ------------------------------------------------------------

ACTIVE_COLS: dict[str, Col] = {c.key: c for c in (
    # 2019
    Col("new_made", "本年新制作数量", ("新制作", "制作数量")),
    Col("new_published", "本年新公开数量", ("新公开", "公开数量"), ("对外公开总",)),
    Col("total_published", "对外公开总数量", ("对外公开总", "公开总数")),
    Col("prev_items", "上一年项目数量", ("上一年", "上年项目")),
    Col("change", "本年增/减", ("增/减", "增减", "本年增")),
    Col("decisions", "处理决定数量", ("处理决定", "决定数量", "决定数")),
    Col("items", "采购项目数量", ("采购项目", "项目数量"), ("上一年",)),
    Col("amount", "采购总金额", ("总金额", "收费金额", "金额")),
    # 2021
    Col("made", "本年制发件数", ("制发",)),
    Col("repealed", "本年废止件数", ("废止",)),
    Col("in_force", "现行有效件数", ("有效件", "行有效", "现行有效")),
)}

ACTIVE_ROWS_2019: tuple[Row, ...] = (
    Row("rules", "规章", ("规章",), ("规范性",), ("new_made", "new_published", "total_published")),
    Row("normative_docs", "规范性文件", ("规范性文件", "规范性"), (),
        ("new_made", "new_published", "total_published")),
    Row("licensing", "行政许可", ("行政许可",), (), ("prev_items", "change", "decisions")),
    Row("other_services", "其他对外管理服务事项", ("对外管理服务", "其他对外管理"), (),
        ("prev_items", "change", "decisions")),
    Row("punishment", "行政处罚", ("行政处罚",), (), ("prev_items", "change", "decisions")),
    Row("coercion", "行政强制", ("行政强制",), (), ("prev_items", "change", "decisions")),
    Row("fees", "行政事业性收费", ("事业性收费", "行政事业性"), (), ("prev_items", "change")),
    Row("procurement", "政府集中采购", ("集中采购", "政府采购"), (), ("items", "amount")),
)

ACTIVE_ROWS_2021: tuple[Row, ...] = (
    Row("rules", "规章", ("规章",), ("规范性",), ("made", "repealed", "in_force")),
    Row("normative_docs", "行政规范性文件", ("规范性文件", "规范性"), (), ("made", "repealed", "in_force")),
    Row("licensing", "行政许可", ("行政许可",), (), ("decisions",)),
    Row("punishment", "行政处罚", ("行政处罚",), (), ("decisions",)),
    Row("coercion", "行政强制", ("行政强制",), (), ("decisions",)),
    Row("fees", "行政事业性收费", ("事业性收费", "行政事业性"), (), ("amount",)),
)

# Column labels whose presence in the active table's header decides the version.
ACTIVE_VERSION_MARKERS: dict[str, tuple[str, ...]] = {
    "2019": ("新制作", "新公开", "对外公开总", "上一年项目", "采购总金额", "第二十条第(九)项"),
    "2021": ("制发", "废止", "现行有效", "有效件", "收费金额"),
}

# Block titles and the label-column header: structure, never data.
ACTIVE_STRUCTURE = ("第二十条", "信息内容")

# --- 三、收到和处理政府信息公开申请情况 --------------------------------------------------

APPLICATION_COLS: tuple[Col, ...] = (
    Col("natural_person", "自然人", ("自然人",)),
    Col("business", "商业企业", ("商业企业",)),
    Col("research", "科研机构", ("科研机构",)),
    Col("nonprofit", "社会公益组织", ("公益组织",)),
    Col("legal_service", "法律服务机构", ("法律服务",)),
    Col("other_org", "其他", ("其他",)),
    Col("total", "总计", ("总计", "合计")),
)

# Order matters: the first row whose keys match wins, so specific items come before the
# group labels that are repeated in front of them (rowspan cells, inlined group labels).
APPLICATION_ROWS_MATCH_ORDER: tuple[Row, ...] = (
    Row("withheld.state_secret", "1.属于国家秘密", ("国家秘密",), group="(三)不予公开"),
    Row("withheld.prohibited", "2.其他法律行政法规禁止公开", ("禁止公开",), group="(三)不予公开"),
    Row("withheld.security", "3.危及“三安全一稳定”", ("三安全", "一稳定", "危及"), group="(三)不予公开"),
    Row("withheld.third_party", "4.保护第三方合法权益", ("第三方",), group="(三)不予公开"),
    Row("withheld.internal", "5.属于三类内部事务信息", ("内部事务",), group="(三)不予公开"),
    Row("withheld.deliberative", "6.属于四类过程性信息", ("过程性",), group="(三)不予公开"),
    Row("withheld.enforcement_file", "7.属于行政执法案卷", ("执法案卷",), group="(三)不予公开"),
    Row("withheld.admin_query", "8.属于行政查询事项", ("行政查询",), group="(三)不予公开"),
    Row("unable.not_held", "1.本机关不掌握相关政府信息", ("不掌握",), group="(四)无法提供"),
    Row("unable.needs_creation", "2.没有现成信息需要另行制作", ("另行制作", "没有现成"), group="(四)无法提供"),
    Row("unable.unclear", "3.补正后申请内容仍不明确", ("不明确",), group="(四)无法提供"),
    Row("not_processed.complaint", "1.信访举报投诉类申请", ("信访", "举报投诉"), group="(五)不予处理"),
    Row("not_processed.duplicate", "2.重复申请", ("重复申请",), group="(五)不予处理"),
    Row("not_processed.publication", "3.要求提供公开出版物", ("出版物",), group="(五)不予处理"),
    Row("not_processed.excessive", "4.无正当理由大量反复申请", ("大量反复",), group="(五)不予处理"),
    Row("not_processed.confirmation", "5.要求行政机关确认或重新出具已获取信息",
        ("重新出具", "确认或"), group="(五)不予处理"),
    Row("other.no_correction",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        ("逾期不补正", "不补正"), group="(六)其他处理"),
    Row("other.no_fee",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        ("缴纳费用", "收费通知"), group="(六)其他处理"),
    Row("partly_granted", "(二)部分公开(区分处理的，只计这一情形，不计其他情形)", ("部分公开",)),
    Row("granted", "(一)予以公开", ("予以公开",), ("不予公开",)),
    Row("new_received", "一、本年新收政府信息公开申请数量", ("本年新收", "新收")),
    Row("carried_over", "二、上年结转政府信息公开申请数量", ("上年结转",)),
    Row("carried_forward", "四、结转下年度继续办理", ("结转下", "继续办理")),
    Row("total", "(七)总计", ("总计", "合计"), ("结果维持", "行政复议", "自然人", "申请人")),
    # `other.other` (2021: 3.其他 under （六）) and `other` (2019: one （六）其他处理 row)
    # are told apart by what follows 其他处理 in the label; see mapping.match_application_row.
)

APPLICATION_ROWS_2019: tuple[str, ...] = (
    "new_received", "carried_over", "granted", "partly_granted",
    "withheld.state_secret", "withheld.prohibited", "withheld.security", "withheld.third_party",
    "withheld.internal", "withheld.deliberative", "withheld.enforcement_file",
    "withheld.admin_query", "unable.not_held", "unable.needs_creation", "unable.unclear",
    "not_processed.complaint", "not_processed.duplicate", "not_processed.publication",
    "not_processed.excessive", "not_processed.confirmation", "other", "total",
    "carried_forward",
)
APPLICATION_ROWS_2021: tuple[str, ...] = tuple(
    r for row in APPLICATION_ROWS_2019
    for r in (("other.no_correction", "other.no_fee", "other.other") if row == "other" else (row,))
)

APPLICATION_LABELS: dict[str, str] = {r.key: r.label for r in APPLICATION_ROWS_MATCH_ORDER} | {
    "other": "(六)其他处理",
    "other.other": "3.其他",
}

# Rows whose sum is （七）总计 (results_sum); `other` stands for whichever form is present.
RESULT_ROWS: tuple[str, ...] = tuple(
    r for r in APPLICATION_ROWS_2021 if r not in ("new_received", "carried_over", "total", "carried_forward")
)

# --- 四、政府信息公开行政复议、行政诉讼情况 ------------------------------------------------

APPEAL_GROUPS: tuple[Col, ...] = (
    Col("review", "行政复议", ("行政复议",)),
    Col("suit_direct", "行政诉讼 › 未经复议直接起诉", ("未经复议", "直接起诉")),
    Col("suit_after_review", "行政诉讼 › 复议后起诉", ("复议后起诉", "复议后")),
)
APPEAL_COLS: tuple[Col, ...] = (
    Col("upheld", "结果维持", ("维持",)),
    Col("corrected", "结果纠正", ("纠正",)),
    Col("other", "其他结果", ("其他",)),
    Col("pending", "尚未审结", ("未审结", "审结")),
    Col("total", "总计", ("总计", "合计")),
)


@dataclass(frozen=True)
class Template:
    version: str
    active_rows: tuple[Row, ...]
    application_rows: tuple[str, ...]
    notice: str = ""  # the State Council office letter that issued the template

    def keys(self) -> list[str]:
        """Every canonical fact key of this template, in table order."""
        out = [f"active.{r.key}.{c}" for r in self.active_rows for c in r.cols]
        out += [f"applications.{r}.{c.key}" for r in self.application_rows for c in APPLICATION_COLS]
        out += [f"appeals.{g.key}.{c.key}" for g in APPEAL_GROUPS for c in APPEAL_COLS]
        return out


TEMPLATES: dict[str, Template] = {
    "2019": Template("2019", ACTIVE_ROWS_2019, APPLICATION_ROWS_2019, "国办公开办函〔2019〕60号"),
    "2021": Template("2021", ACTIVE_ROWS_2021, APPLICATION_ROWS_2021, "国办公开办函〔2021〕30号"),
}


def label_of(key: str) -> str:
    """The official Chinese label of a fact key (`applications.granted.total` → …)."""
    table, rest = key.split(".", 1)
    row, col = rest.rsplit(".", 1)
    if table == "active":
        rows = {r.key: r.label for r in ACTIVE_ROWS_2019 + ACTIVE_ROWS_2021}
        return f"{rows.get(row, row)} › {ACTIVE_COLS[col].label if col in ACTIVE_COLS else col}"
    if table == "applications":
        cols = {c.key: c.label for c in APPLICATION_COLS}
        return f"{APPLICATION_LABELS.get(row, row)} › {cols.get(col, col)}"
    groups = {g.key: g.label for g in APPEAL_GROUPS}
    cols = {c.key: c.label for c in APPEAL_COLS}
    return f"{groups.get(row, row)} › {cols.get(col, col)}"
