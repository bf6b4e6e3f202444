"""The canonical fact keys as archive rows: ids, Chinese and English labels, units.

Facts are stored compactly (`fact_values`: report id, key id, value); the text that
describes a key lives once here, in `fact_keys`, which is also the label table the
Datasette views and their column descriptions are built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from parsers.templates import (
    ACTIVE_COLS, ACTIVE_ROWS_2019, ACTIVE_ROWS_2021, APPEAL_COLS, APPEAL_GROUPS, APPLICATION_COLS,
    APPLICATION_LABELS, TEMPLATES,
)

ROW_EN: dict[str, str] = {
    # active
    "rules": "rules (规章)", "normative_docs": "normative documents", "licensing": "administrative licensing",
    "other_services": "other external management services", "punishment": "administrative penalties",
    "coercion": "administrative coercion", "fees": "administrative fees", "procurement": "government procurement",
    # applications
    "new_received": "new applications received this year", "carried_over": "carried over from last year",
    "granted": "granted in full", "partly_granted": "granted in part",
    "withheld.state_secret": "withheld: state secret", "withheld.prohibited": "withheld: prohibited by law",
    "withheld.security": "withheld: endangers security or stability",
    "withheld.third_party": "withheld: third-party rights", "withheld.internal": "withheld: internal affairs",
    "withheld.deliberative": "withheld: deliberative (process) information",
    "withheld.enforcement_file": "withheld: enforcement case file",
    "withheld.admin_query": "withheld: administrative query matter",
    "unable.not_held": "unable: information not held", "unable.needs_creation": "unable: would need creating",
    "unable.unclear": "unable: still unclear after correction",
    "not_processed.complaint": "not processed: petition or complaint",
    "not_processed.duplicate": "not processed: repeated application",
    "not_processed.publication": "not processed: asks for a publication",
    "not_processed.excessive": "not processed: excessive repeated applications",
    "not_processed.confirmation": "not processed: asks to confirm or re-issue information held",
    "other": "other handling (2019: one row)", "other.no_correction": "other: no correction in time",
    "other.no_fee": "other: fee not paid in time", "other.other": "other: other",
    "total": "total handled", "carried_forward": "carried forward to next year",
    # appeals
    "review": "administrative review", "suit_direct": "lawsuit without prior review",
    "suit_after_review": "lawsuit after review",
}
COL_EN: dict[str, str] = {
    "new_made": "newly made", "new_published": "newly published", "total_published": "total published",
    "prev_items": "items last year", "change": "change this year (+/-)", "decisions": "decisions",
    "items": "procurement items", "amount": "amount", "made": "made this year",
    "repealed": "repealed this year", "in_force": "in force",
    "natural_person": "natural persons", "business": "businesses", "research": "research institutions",
    "nonprofit": "public-interest organisations", "legal_service": "legal service institutions",
    "other_org": "other organisations", "total": "total",
    "upheld": "upheld", "corrected": "corrected", "other": "other result", "pending": "pending",
}


@dataclass(frozen=True)
class KeyInfo:
    key: str
    table_name: str
    row_key: str
    col_key: str
    label: str  # official Chinese: row › column
    row_label: str
    col_label: str
    label_en: str
    unit: str | None
    column_name: str  # the column in the report_* views
    versions: str


def column_name(row_key: str, col_key: str) -> str:
    """`withheld.state_secret` × `total` → `withheld_state_secret__total`."""
    return f"{row_key.replace('.', '_')}__{col_key}"


def _unit(table: str, row: str, col: str) -> str | None:
    if table == "active" and col == "amount":
        return "万元" if row == "fees" else None  # procurement: the unit as written in the report
    if table == "active" and col in ("prev_items", "change", "items"):
        return "项"
    return "件"


def catalogue() -> list[KeyInfo]:
    """Every key of every template, in table order."""
    active_rows = {r.key: r.label for r in ACTIVE_ROWS_2019 + ACTIVE_ROWS_2021}
    app_cols = {c.key: c.label for c in APPLICATION_COLS}
    groups = {g.key: g.label for g in APPEAL_GROUPS}
    appeal_cols = {c.key: c.label for c in APPEAL_COLS}
    in_version: dict[str, list[str]] = {}
    for v, t in TEMPLATES.items():
        for k in t.keys():
            in_version.setdefault(k, []).append(v)
    out = []
    for key, versions in in_version.items():
        table, rest = key.split(".", 1)
        row, col = rest.rsplit(".", 1)
        if table == "active":
            rl, cl = active_rows.get(row, row), ACTIVE_COLS[col].label if col in ACTIVE_COLS else col
        elif table == "applications":
            rl, cl = APPLICATION_LABELS.get(row, row), app_cols.get(col, col)
        else:
            rl, cl = groups.get(row, row), appeal_cols.get(col, col)
        out.append(KeyInfo(key, table, row, col, f"{rl} › {cl}", rl, cl,
                           f"{ROW_EN.get(row, row)} › {COL_EN.get(col, col)}", _unit(table, row, col),
                           column_name(row, col), ",".join(versions)))
    return out


def sync(db: sqlite_utils.Database) -> None:
    """Make `fact_keys` match the catalogue (new keys appended; labels refreshed).
    Writes only when something differs, so opening an archive stays read-only in practice."""
    fields = ("table_name", "row_key", "col_key", "label", "row_label", "col_label", "label_en", "unit",
              "column_name", "versions")
    have = {r[0]: tuple(r[1:]) for r in db.execute(f"SELECT key, {', '.join(fields)} FROM fact_keys")}
    todo = [k for k in catalogue() if have.get(k.key) != tuple(getattr(k, f) for f in fields)]
    if not todo:
        return
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO fact_keys (key, {', '.join(fields)}) VALUES (?{', ?' * len(fields)}) "
            f"ON CONFLICT(key) DO UPDATE SET " + ", ".join(f"{f} = excluded.{f}" for f in fields),
            [[k.key] + [getattr(k, f) for f in fields] for k in todo])


def key_ids(db: sqlite_utils.Database) -> dict[str, int]:
    return dict(db.execute("SELECT key, id FROM fact_keys").fetchall())
