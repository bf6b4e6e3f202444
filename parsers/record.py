"""The report record `parsers.parse` returns, and its JSON form (report-format.md §7)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import Check
from .mapping import Fact
from .values import Number


@dataclass
class Report:
    source: str | None
    title: str | None = None
    agency: str | None = None
    year: int | None = None
    published: str | None = None
    index_no: str | None = None
    version: str | None = None
    kind: str | None = None
    applications_layout: str | None = None
    facts: dict[str, Number | None] = field(default_factory=dict)
    found: dict[str, Fact] = field(default_factory=dict)  # provenance of every cell read
    checks: list[Check] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None
    form: str = "html"
    error: str | None = None  # "not an annual report", "needs_ocr", …
    pictures: list[str] = field(default_factory=list)  # needs_ocr page: the `<img src>` standing for its tables

    @property
    def is_report(self) -> bool:
        return self.error is None

    def to_json(self, *, provenance: bool = False) -> dict:
        if self.error:
            out = {"source": self.source, "error": self.error}
            if self.title:
                out["title"] = self.title
            if self.warnings:
                out["warnings"] = self.warnings
            if self.pictures:
                out["pictures"] = self.pictures
            return out
        out = {
            "source": self.source, "title": self.title, "agency": self.agency, "year": self.year,
            "published": self.published, "index_no": self.index_no, "version": self.version,
            "kind": self.kind, "facts": self.facts, "checks": [c.as_dict() for c in self.checks],
            "sections": self.sections, "warnings": self.warnings,
            "applications_layout": self.applications_layout, "form": self.form,
        }
        if provenance:
            out["provenance"] = {k: f.provenance() for k, f in self.found.items()}
        return out
