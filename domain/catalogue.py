"""The first-diagnosis catalogue (基层首诊病种目录) of a township or community health center [000 三(二)(四)].

Each center publishes the diseases it treats itself, so that "what the grassroots can treat stays there": by 2025
at least 80 at central township health centers and community hospitals (乡镇中心卫生院和社区医院), at least 50 at
the others (其他乡镇卫生院和社区卫生服务中心) [000 三(二)]. The catalogue is adjusted over time (实行动态调整):
every entry carries the day it was added and, once taken off, the day it was removed, so a report can say what
the catalogue was on any day. Here: the entries, the targets, and the reading of a catalogue file.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import DomainError
from domain.places import Institution
from domain.reference import ImportRejected, RowError, decode


class Tier(StrEnum):
    """Which target a center's catalogue is held to [000 三(二)]."""

    CENTRAL = "central"  # 乡镇中心卫生院、社区医院: ≥ 80 diseases
    GENERAL = "general"  # 其他乡镇卫生院、社区卫生服务中心: ≥ 50


TARGETS = {Tier.CENTRAL: 80, Tier.GENERAL: 50}
TARGET_YEAR = 2025
# Names that say a center is central (乡镇中心卫生院) or a community hospital (社区医院); the rest are general
# until an administrator says otherwise (catalogue --tier).
_CENTRAL_NAMES = ("中心卫生院", "社区医院")

MAX_DISEASE = 40
MAX_QUERY = 500
MAX_ENTRIES = 1000  # far above any real catalogue; a file with more is a mistake
_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
COLUMNS = ("disease", "icd10", "added_on", "removed_on")
# A catalogue file may be headed in Chinese, as a clerk's spreadsheet often is.
_HEADER_ALIASES = {
    "病种": "disease", "病名": "disease", "疾病名称": "disease", "病种名称": "disease",
    "icd10": "icd10", "icd-10": "icd10", "icd_10": "icd10", "icd-10编码": "icd10", "疾病编码": "icd10",
    "纳入日期": "added_on", "加入日期": "added_on", "移出日期": "removed_on",
}


def default_tier(institution: Institution) -> Tier:
    """The tier a center's name implies: 中心卫生院 and 社区医院 are central, other centers general."""
    return Tier.CENTRAL if any(n in institution.name for n in _CENTRAL_NAMES) else Tier.GENERAL


def require_center(institution: Institution | None, code: str) -> Institution:
    """The institution if it keeps a catalogue (a township or community health center), else a refusal."""
    if institution is None:
        raise DomainError("institution.unknown", code=code)
    if not institution.kind.is_grassroots_center:
        raise DomainError("catalogue.not_a_center", code=code, name=institution.name)
    return institution


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One disease of one center's catalogue, from ``added_on`` until (not including) ``removed_on``."""

    institution_code: str
    disease: str
    icd10: str | None
    added_on: date
    removed_on: date | None = None
    id: int | None = None

    def active_on(self, day: date) -> bool:
        """True if the entry was in the catalogue on ``day``."""
        return self.added_on <= day and (self.removed_on is None or day < self.removed_on)

    @property
    def label(self) -> str:
        """``高血压（I10）``, or the name alone when the code is not known."""
        return f"{self.disease}（{self.icd10}）" if self.icd10 else self.disease


def active_on(entries: list[CatalogueEntry], day: date) -> list[CatalogueEntry]:
    """The entries in the catalogue on ``day``, in ICD-10 order (uncoded last), then by name."""
    return sorted((e for e in entries if e.active_on(day)), key=lambda e: (e.icd10 is None, e.icd10 or "", e.disease))


@dataclass(frozen=True, slots=True)
class CatalogueMatch:
    """A complaint found in a catalogue: the entry's disease and code, and the words of the complaint that matched."""

    disease: str
    icd10: str | None
    words: tuple[str, ...]

    @property
    def label(self) -> str:
        """``高血压（I10）``."""
        return f"{self.disease}（{self.icd10}）" if self.icd10 else self.disease


def clean_disease(text: str | None) -> str:
    """A disease name as typed (trimmed, inner spaces single; its full-width brackets kept, as the starting list
    writes them): 1–40 characters of which some are Chinese or Latin letters, no emoji or control characters."""
    name = " ".join((text or "").split())
    if not name or len(name) > MAX_DISEASE or not any(ch.isalpha() for ch in name):
        raise DomainError("catalogue.bad_disease", limit=MAX_DISEASE)
    if any(unicodedata.category(ch)[0] in "CS" for ch in name):  # control characters, emoji and other symbols
        raise DomainError("catalogue.bad_disease", limit=MAX_DISEASE)
    return name


def clean_icd10(text: str | None) -> str | None:
    """An ICD-10 code (``I10``, ``J06.9``, ``K29.5``) upper-cased, or None when not given."""
    code = unicodedata.normalize("NFKC", text or "").strip().upper()
    if not code:
        return None
    if not _ICD10.match(code):
        raise DomainError("catalogue.bad_icd10", code=code[:20])
    return code


def clean_query(text: str | None) -> str:
    """A complaint to look up: at most ``MAX_QUERY`` characters (empty is allowed: it lists the catalogue)."""
    query = (text or "").strip()
    if len(query) > MAX_QUERY:
        raise DomainError("catalogue.too_long", limit=MAX_QUERY)
    return query


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """One validated row of a catalogue file."""

    disease: str
    icd10: str | None
    added_on: date
    removed_on: date | None


def parse_catalogue(name: str, data: bytes, today: date) -> list[CatalogueRow]:
    """Read a catalogue CSV (``disease,icd10,added_on,removed_on``; only ``disease`` required, ``added_on``
    defaults to ``today``); every problem with its row number, and ``ImportRejected`` if there is any."""
    try:
        text = decode(data)
    except DomainError:
        raise ImportRejected([RowError(name, 1, "", "文件编码无法识别（请另存为 UTF-8 或 GBK）",
                                       "unknown encoding (save as UTF-8 or GBK)")]) from None
    reader = csv.reader(io.StringIO(text))
    header = [_HEADER_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader, [])]
    if "disease" not in header or not set(header) <= set(COLUMNS):
        raise ImportRejected([RowError(name, 1, "", f"表头无法识别：{','.join(header)[:200]}；应为 {','.join(COLUMNS)}",
                                       f"unrecognised header; expected {','.join(COLUMNS)}")])
    errors: list[RowError] = []
    rows: list[CatalogueRow] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        r = dict(zip(header, cells, strict=False))
        problems = len(errors)
        disease = icd10 = None
        try:
            disease = clean_disease(r.get("disease"))
        except DomainError:
            errors.append(RowError(name, line, "disease", f"病名为空、过长（>{MAX_DISEASE}字）或含表情符号",
                                   f"disease empty, longer than {MAX_DISEASE} or with symbols"))
        try:
            icd10 = clean_icd10(r.get("icd10"))
        except DomainError:
            typed = (r.get("icd10") or "")[:20]
            errors.append(RowError(name, line, "icd10", f"ICD-10 编码“{typed}”格式不对（如 I10、J06.9）",
                                   "not an ICD-10 code (e.g. I10, J06.9)"))
        days: list[date | None] = []
        for column in ("added_on", "removed_on"):
            value = (r.get(column) or "").strip()
            try:
                days.append(date.fromisoformat(value) if value else None)
            except ValueError:
                days.append(None)
                errors.append(RowError(name, line, column, f"日期“{value[:20]}”应写成 年-月-日，如 2026-01-01",
                                       "dates are YYYY-MM-DD"))
        added, removed = days[0] or today, days[1]
        if removed is not None and removed <= added:
            errors.append(RowError(name, line, "removed_on", "移出日期应晚于纳入日期",
                                   "removed_on must follow added_on"))
        if disease and removed is None:
            if disease in seen:
                errors.append(RowError(name, line, "disease", f"“{disease}”与第{seen[disease]}行重复",
                                       f"duplicate of row {seen[disease]}"))
            seen[disease] = line
        if len(errors) == problems and disease:
            rows.append(CatalogueRow(disease, icd10, added, removed))
    if not rows and not errors:
        errors.append(RowError(name, 2, "", "文件没有数据行", "the file has no data rows"))
    if len(rows) > MAX_ENTRIES:
        errors.append(RowError(name, 1, "", f"行数超过 {MAX_ENTRIES}", f"more than {MAX_ENTRIES} rows"))
    if errors:
        raise ImportRejected(errors)
    return rows


@dataclass(frozen=True, slots=True)
class CatalogueStanding:
    """One center's line of the catalogue ledger: its catalogue's size against its target on the as-of day, and of
    the period's orders whose need matched the catalogue, how many the center handled itself."""

    institution_code: str
    name: str
    place_code: str
    tier: Tier
    size: int
    matched_orders: int
    handled_locally: int

    @property
    def target(self) -> int:
        """80 (central) or 50 (general)."""
        return TARGETS[self.tier]

    @property
    def meets_target(self) -> bool:
        """True when the catalogue holds at least the target's number of diseases."""
        return self.size >= self.target

    @property
    def local_share(self) -> float | None:
        """The share of matching orders handled locally (None when no order matched)."""
        return self.handled_locally / self.matched_orders if self.matched_orders else None
