"""The survey import (issue 19, 摸底导入), each use case once: read a survey sheet, check and classify every row,
keep it pending, and file its orders when the village doctor confirms (all at once, or row by row).

The chat (``handlers.survey``) and the command line (``python -m bot import-survey``) both call these. A sheet with
any wrong row is refused whole, every problem said by row (in Chinese and English); a row without the resident's
separate written consent date is one of them. Each row's need goes through the matcher and the red flags as a typed
order's does; an emergency is listed first and never filed by "全部提交" (only by the doctor's own "不是急症" on
that row), nor is a likely duplicate (an open order of the same specialty, or the same person twice in the sheet).
Orders are filed by the one filing service (``services.orders.file_order``), residents found as the chat finds them
(name, birth year and sex in the village).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from domain.errors import DomainError, PermissionDenied
from domain.orders import MAX_NEED_TEXT, OPEN_STATUSES, SpecialPopulation, Urgency
from domain.privacy import is_valid_mobile, mask_phone, normalise_phone
from domain.sms import SMS_CONSENT_VERSION
from domain.staff import Role
from handlers import texts_survey
from handlers.services import CHINA, Actor, Notice, today_of
from handlers.services.alerts import alert_township
from handlers.services.orders import file_order
from handlers.services.sms import register_sms
from handlers.texts import t
from nlp.intake import MAX_AGE, MIN_BIRTH_YEAR, chinese_number, read_cues
from storage.ports import UnitOfWork
from storage.repositories.survey import SurveyImport

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_READ = 2 * MAX_ROWS + 1  # rows read from an xlsx at most (blank ones included)
MAX_COLUMNS = 40  # the template has 8; a sheet with notes beside them still fits
MAX_UNPACKED = 32 * 1024 * 1024  # an xlsx's files, unpacked (10,000 rows of a survey are a few MB)
TEMPLATE_NAME = "摸底表模板.xlsx"
VD = Role.VILLAGE_DOCTOR

# Each column the sheet may have: its template header first, then what else people call it (compared without
# spaces, brackets' contents or case).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "居民姓名", "name", "resident"),
    "sex": ("性别", "sex", "gender"),
    "birth": ("出生年份/年龄", "出生年份", "出生年", "出生年份或年龄", "年龄", "birth_year", "birthyear",
              "year_of_birth", "birth", "age", "birth_year_or_age"),
    "phone": ("手机号", "手机", "手机号码", "电话", "联系电话", "phone", "mobile"),
    "need": ("需求", "就医需求", "需求描述", "健康需求", "need", "needs"),
    "consent": ("知情同意日期", "同意日期", "知情同意", "书面同意日期", "consent_date", "consent"),
    "urgency": ("紧急程度", "紧急", "urgency"),
    "sms_consent": ("短信同意日期", "短信同意", "sms_consent", "sms_consent_date"),
}
REQUIRED = ("name", "sex", "birth", "need", "consent")
TEMPLATE_HEADER = ("姓名", "性别", "出生年份/年龄", "手机号（可选）", "需求", "知情同意日期", "紧急程度（可选）",
                   "短信同意日期（可选）")
SOON = {"尽快", "急", "紧急", "较急", "加急", "是", "soon", "urgent", "yes"}
ROUTINE = {"常规", "一般", "不急", "否", "普通", "routine", "normal", "no"}
SEXES = {"男": "M", "男性": "M", "m": "M", "male": "M", "女": "F", "女性": "F", "f": "F", "female": "F"}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_NAME = re.compile(r"[\u4e00-\u9fff·A-Za-z ]{2,20}")


def _key(header: str) -> str:
    text = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in str(header))
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", text)
    return re.sub(r"[\s*:：]", "", text).lower().replace("-", "_")


_ALIASES = {_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


# ----------------------------------------------------------------------------------------------- reading the file


def _cell(value: object) -> str:
    """A cell as the text a person sees (a date as 2026-11-20, 1956.0 as 1956)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheet(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    """The rows of a survey sheet (xlsx, or CSV in UTF-8, UTF-8 with a BOM, or GBK), each with its spreadsheet row
    number (the header is row 1); blank rows left out. ``DomainError`` if it is no sheet or cannot be read."""
    if len(data) > MAX_BYTES:
        raise DomainError("survey.too_big", size=len(data) // 1024, limit=MAX_BYTES // 1024)
    lower = name.lower()
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        rows = _read_xlsx(name, data)
    elif data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise DomainError("survey.unreadable", name=name, reason="旧版 .xls 格式 / old .xls format")
    elif lower.endswith((".csv", ".txt")) or (b"\x00" not in data[:4096] and (b"," in data or b"\t" in data)):
        rows = _read_csv(name, data)
    else:
        raise DomainError("survey.not_a_sheet", name=name)
    found = [(i, r) for i, r in rows if any(c for c in r)]
    if len(found) - 1 > MAX_ROWS:
        raise DomainError("survey.too_many", rows=len(found) - 1, limit=MAX_ROWS)
    return found


def _read_xlsx(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        # A small file may unpack to a huge one (a zip bomb): the unpacked size is checked before anything is read,
        # and no more rows and columns are read than a survey sheet can have.
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED:
                raise DomainError("survey.too_big", size=len(data) // 1024, limit=MAX_BYTES // 1024)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
            out = [(i, [_cell(v) for v in row]) for i, row in enumerate(itertools.islice(rows, MAX_READ), start=1)]
        finally:
            wb.close()
        if len(out) == MAX_READ:
            raise DomainError("survey.too_many", rows=f"{MAX_READ - 1}+", limit=MAX_ROWS)
        return out
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError, TypeError) as e:
        raise DomainError("survey.unreadable", name=name, reason=type(e).__name__) from None


def _read_csv(name: str, data: bytes) -> list[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DomainError("survey.unreadable", name=name, reason="编码无法识别 / unknown encoding")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return [(i, [c.strip() for c in row]) for i, row in enumerate(reader, start=1)]
    except csv.Error as e:
        raise DomainError("survey.unreadable", name=name, reason=str(e)[:80]) from None


# ----------------------------------------------------------------------------------------------- checking the rows


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one row (``row`` is the spreadsheet's row number)."""

    row: int
    key: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def zh(self) -> str:
        """The problem in Chinese."""
        return texts_survey.PROBLEMS[self.key][0].format(**self.params)

    @property
    def en(self) -> str:
        """The problem in English."""
        return texts_survey.PROBLEMS[self.key][1].format(**self.params)


@dataclass
class Checked:
    """A sheet read and checked: its valid rows (classified, with the residents they name) and its problems."""

    file_name: str
    total: int
    rows: list[dict[str, Any]]
    rejected: list[Problem]

    @property
    def emergencies(self) -> list[dict[str, Any]]:
        """The rows the red flags stopped, in sheet order."""
        return [r for r in self.rows if r.get("emergency")]

    def summary(self) -> dict[str, Any]:
        """The figures of the summary card, as the command line's --dry-run prints them."""
        return summary_of(self.total, self.rows, self.rejected)

    def refusal(self) -> DomainError:
        """The sheet refused whole, every problem by row in Chinese and in English."""
        return DomainError("survey.refused", count=len(self.rejected),
                           lines="\n".join(t("survey.refused_line", row=p.row, reason=p.zh) for p in self.rejected),
                           lines_en="\n".join(f"row {p.row}: {p.en}" for p in self.rejected))


def summary_of(total: int, rows: list[dict[str, Any]], rejected: Iterable[Problem]) -> dict[str, Any]:
    """rows, new and existing residents (people, not rows), likely duplicates, emergencies, rejected rows, and the
    count per proposed specialty."""
    new = {(r["name"], r["birth_year"]) for r in rows if not r.get("rid")}
    existing = {r["rid"] for r in rows if r.get("rid")}
    by_specialty = Counter(r["specialty"] for r in rows if r.get("specialty"))
    return {
        "rows": total,
        "new_residents": len(new),
        "existing_residents": len(existing),
        "duplicates": sum(1 for r in rows if r.get("duplicate")),
        "emergencies": sum(1 for r in rows if r.get("emergency")),
        "rejected": [{"row": p.row, "reason": f"{p.zh} / {p.en}"} for p in rejected],
        "by_specialty": dict(sorted(by_specialty.items())),
    }


def check_sheet(uow: UnitOfWork, matcher: Any, *, name: str, data: bytes, post: str, village: str,
                today: date) -> Checked:
    """Read a sheet and check every row; classify the valid ones (specialties, red flags), find the residents they
    name and their open orders. File problems raise ``DomainError``; row problems are collected."""
    table = read_sheet(name, data)
    if not table:
        raise DomainError("survey.missing_columns", columns="、".join(COLUMNS[c][0] for c in REQUIRED),
                          columns_en=", ".join(REQUIRED))
    header = table[0][1]
    where: dict[str, int] = {}
    for i, h in enumerate(header):
        col = _ALIASES.get(_key(h))
        if col is not None and col not in where:
            where[col] = i
    missing = [c for c in REQUIRED if c not in where]
    if missing:
        raise DomainError("survey.missing_columns", columns="、".join(COLUMNS[c][0] for c in missing),
                          columns_en=", ".join(COLUMNS[c][-1] if c != "birth" else "birth_year/age" for c in missing))
    known: dict[tuple[str, int], list[Any]] = {}
    for r in uow.residents.in_villages([village]):
        if r.consent_withdrawn_at is None:
            known.setdefault((r.name, r.birth_year), []).append(r)
    open_orders: dict[tuple[int, str], str] = {}
    for o in uow.orders.list(post_codes=[post], statuses=OPEN_STATUSES, limit=1_000_000):
        if o.confirmed_specialty:
            open_orders.setdefault((o.resident_id, o.confirmed_specialty), str(o.number))
    withdrawn_at = uow.residents.withdrawals(village)
    rows: list[dict[str, Any]] = []
    rejected: list[Problem] = []
    seen: dict[tuple[str, int, str], int] = {}
    memo: dict[tuple[str, int, str, bool], Any] = {}  # a sheet repeats its needs (高血压随访 …): read each once
    for number, cells in table[1:]:
        values = {c: (cells[i] if i < len(cells) else "") for c, i in where.items()}
        row, problems = _check_row(number, values, today)
        if not problems:
            assert row is not None
            problems = _resident_of(row, known) or _withdrawn(withdrawn_at, row)
        if problems:
            rejected.extend(problems)
            continue
        assert row is not None
        _classify(row, matcher, today, memo)
        if row.get("rid") and (row["rid"], row["specialty"]) in open_orders:
            row["duplicate"] = t("survey.dupe_order", number=open_orders[(row["rid"], row["specialty"])])
        same = (row["name"], row["birth_year"], row["specialty"])
        if same in seen and not row.get("duplicate"):
            row["duplicate"] = t("survey.dupe_row", row=seen[same])
        seen.setdefault(same, number)
        rows.append(row)
    return Checked(name, len(table) - 1, rows, rejected)


def _check_row(number: int, v: dict[str, str], today: date) -> tuple[dict[str, Any] | None, list[Problem]]:
    problems: list[Problem] = []
    row: dict[str, Any] = {"row": number, "state": "ready"}
    name = re.sub(r"\s+", "", v.get("name", "")) if not re.search(r"[A-Za-z]", v.get("name", "")) else \
        " ".join(v.get("name", "").split())
    if not name:
        problems.append(Problem(number, "no_name"))
    elif not _NAME.fullmatch(name):
        problems.append(Problem(number, "bad_name", {"value": name[:20]}))
    row["name"] = name
    sex = v.get("sex", "").strip()
    if not sex:
        problems.append(Problem(number, "no_sex"))
    elif sex.lower() not in SEXES:
        problems.append(Problem(number, "bad_sex", {"value": sex[:10]}))
    else:
        row["sex"] = SEXES[sex.lower()]
    birth = v.get("birth", "").strip()
    if not birth:
        problems.append(Problem(number, "no_birth"))
    else:
        year, age = _birth(birth, today)
        if year is None:
            problems.append(Problem(number, "bad_birth", {"value": birth[:12]}))
        row["birth_year"], row["age_given"] = year, age is not None
    phone = v.get("phone", "").strip()
    if phone:
        if not is_valid_mobile(phone):
            problems.append(Problem(number, "bad_phone", {"value": mask_phone(phone)[:20]}))
        row["phone"] = normalise_phone(phone)
    need = " ".join(v.get("need", "").split())
    if not need:
        problems.append(Problem(number, "no_need"))
    elif len(need) > MAX_NEED_TEXT:
        problems.append(Problem(number, "long_need", {"length": len(need), "limit": MAX_NEED_TEXT}))
    row["need"] = need
    consent = v.get("consent", "").strip()
    if not consent:
        problems.append(Problem(number, "no_consent"))
    else:
        day = _day(consent)
        if day is None:
            problems.append(Problem(number, "bad_consent", {"value": consent[:20]}))
        elif day > today:
            problems.append(Problem(number, "future_consent", {"value": day.isoformat()}))
        else:
            row["consent_date"] = day.isoformat()
    urgency = v.get("urgency", "").strip()
    if urgency and urgency.lower() not in SOON | ROUTINE:
        problems.append(Problem(number, "bad_urgency", {"value": urgency[:10]}))
    row["urgency_given"] = urgency.lower() if urgency else ""
    sms = v.get("sms_consent", "").strip()
    if sms:
        day = _day(sms)
        if day is None or day > today:
            problems.append(Problem(number, "bad_sms", {"value": sms[:20]}))
        elif not phone:
            problems.append(Problem(number, "sms_no_phone"))
        else:
            row["sms_consent"] = day.isoformat()
    return (None if problems else row), problems


def _birth(text: str, today: date) -> tuple[int | None, int | None]:
    """(birth year, the age if an age was given): "1956", "1956年", "70", "70岁", "七十岁"."""
    s = text.strip().replace(" ", "")
    s = re.sub(r"(年生|年出生|出生|年)$", "", s)
    age_text = re.sub(r"(周岁|岁)$", "", s)
    if re.fullmatch(r"\d{4}", s):
        year = int(s)
        return (year, None) if MIN_BIRTH_YEAR <= year <= today.year else (None, None)
    if age_text != s or re.fullmatch(r"\d{1,3}", s):
        age = chinese_number(age_text)
        if age is not None and 0 <= age <= MAX_AGE:
            return today.year - age, age
    return None, None


def _day(text: str) -> date | None:
    m = _DATE.fullmatch(text.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _resident_of(row: dict[str, Any], known: dict[tuple[str, int], list[Any]]) -> list[Problem]:
    """The village's resident this row names (name and birth year; for an age, the year before too), if any."""
    years = [row["birth_year"]] + ([row["birth_year"] - 1] if row.get("age_given") else [])
    for year in years:
        for r in known.get((row["name"], year), []):
            if r.sex.value == row["sex"]:
                row["rid"], row["birth_year"] = r.id, r.birth_year
                return []
        if known.get((row["name"], year)) and not row.get("age_given"):
            return [Problem(row["row"], "resident_mismatch", {"name": row["name"], "year": year})]
    return []


def _withdrawn(withdrawn_at: Callable[[str, int], datetime | None], row: dict[str, Any]) -> list[Problem]:
    """A row for someone not on record who withdrew consent (and was erased) with a consent date no later than the
    withdrawal: refused, so an old sheet never registers them again (a consent given after it is a new consent)."""
    if row.get("rid"):
        return []
    years = [row["birth_year"]] + ([row["birth_year"] - 1] if row.get("age_given") else [])
    for year in years:
        withdrawn = withdrawn_at(row["name"], year)
        if withdrawn is not None:
            day = today_of(withdrawn)
            if date.fromisoformat(row["consent_date"]) <= day:
                return [Problem(row["row"], "consent_withdrawn",
                                {"name": row["name"], "day": f"{day.month}月{day.day}日", "date": day.isoformat()})]
    return []


def _classify(row: dict[str, Any], matcher: Any, today: date, memo: dict[tuple[str, int, str, bool], Any]) -> None:
    """The matcher and the red flags on the need, with the resident's age and sex, as the chat's card does."""
    soon, calm, populations = read_cues(row["need"])
    pops = [p for p, _word in populations]
    age = max(0, today.year - int(row["birth_year"]))
    pregnant = "pregnant" in pops
    key = (row["need"], age, row["sex"], pregnant)
    if key not in memo:
        memo[key] = matcher.classify(row["need"], age=age, sex=row["sex"], pregnant=pregnant)
    result = memo[key]
    row["suggestions"] = [[s.code, s.name, list(s.matched)] for s in result.specialties]
    row["specialty"] = result.specialties[0].code if result.specialties else None
    row["emergency"] = bool(result.emergency)
    row["reasons"] = "、".join(result.emergency_reasons) if result.emergency else ""
    given = row.pop("urgency_given", "")
    urgent = given in SOON if given else (bool(soon) and not calm)
    row["urgency"] = (Urgency.SOON if urgent else Urgency.ROUTINE).value
    chosen = {SpecialPopulation.PREGNANT.value if p == "pregnant" else p for p in pops}
    if age >= 65:
        chosen.add(SpecialPopulation.ELDERLY.value)
    elif age < 14:
        chosen.add(SpecialPopulation.CHILD.value)
    row["populations"] = sorted(p for p in chosen if p in {s.value for s in SpecialPopulation})


# ----------------------------------------------------------------------------------------------- pending imports


def post_of(uow: UnitOfWork, actor: Actor) -> tuple[str, str]:
    """The acting village doctor's post and its village (``PermissionDenied`` for anyone else)."""
    if actor.role is not VD:
        raise PermissionDenied("survey.not_your_import")
    inst = actor.jurisdiction.institutions.get(actor.staff.institution_code)
    if inst is None:
        raise DomainError("place.unknown", code=actor.staff.institution_code)
    return inst.code, inst.place_code


def start_import(uow: UnitOfWork, actor: Actor, now: datetime, checked: Checked, *,
                 consent_version: str) -> SurveyImport:
    """Keep a checked sheet (without problems) pending for the doctor's confirmation; audited."""
    post, village = post_of(uow, actor)
    if checked.rejected:
        raise checked.refusal()
    # Emergencies first: the row-by-row walk and every list show them before the rest.
    rows = sorted(checked.rows, key=lambda r: (not r.get("emergency"), r["row"]))
    imp = SurveyImport(actor.staff_id, post, village, checked.file_name, rows, now,
                       extra={"consent_version": consent_version, "total": checked.total})
    uow.surveys.add(imp)
    actor.audit(uow, now, "survey_upload", "survey_import", str(imp.id),
                detail={"rows": checked.total, "emergencies": len(checked.emergencies)})
    # The card shows who is on record: each resident found is a read of their data (PIPL access audit).
    for rid in sorted({r["rid"] for r in rows if r.get("rid")}):
        actor.audit(uow, now, "read", "resident", str(rid), detail={"purpose": "survey", "import": imp.id})
    return imp


def pending_of(uow: UnitOfWork, *, staff_code: str | None = None, staff_id: int | None = None) -> list[SurveyImport]:
    """A member of staff's pending imports, newest first."""
    if staff_id is None:
        st = uow.staff.by_code(staff_code or "")
        staff_id = st.id if st is not None else None
    return uow.surveys.pending_of(staff_id) if staff_id is not None else []


def load_import(uow: UnitOfWork, actor: Actor, now: datetime, import_id: object) -> SurveyImport:
    """The pending import a button names, re-authorised: only the doctor who sent it, at the same post."""
    imp = uow.surveys.get(int(import_id), for_update=True) if isinstance(import_id, int) else None
    post, _village = post_of(uow, actor)
    if imp is None or imp.staff_id != actor.staff_id or imp.post_code != post:
        actor.audit(uow, now, "refused", "survey_import", str(import_id)[:32], reason="not_your_import")
        raise PermissionDenied("survey.not_your_import")
    if imp.status != "pending":
        raise DomainError("survey.not_pending")
    return imp


def ready_rows_of(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows "全部提交" files: not filed or skipped yet, no emergency, no likely duplicate."""
    return [r for r in rows if r["state"] == "ready" and not r.get("emergency") and not r.get("duplicate")]


def ready_rows(imp: SurveyImport) -> list[dict[str, Any]]:
    """The ready rows of a pending import."""
    return ready_rows_of(imp.rows)


def open_rows(imp: SurveyImport) -> list[dict[str, Any]]:
    """The rows still to decide on, emergencies first."""
    return [r for r in imp.rows if r["state"] == "ready"]


@dataclass
class Filed:
    """What a confirmation filed: the order numbers, the notices for the township, the rows left to decide."""

    numbers: list[str]
    notices: list[Notice]
    left: int


def confirm_all(uow: UnitOfWork, actor: Actor, now: datetime, import_id: object) -> Filed:
    """File every ready row of a pending import in the caller's transaction (all or nothing). A row whose resident
    has had an order of the same specialty opened since the sheet was read (the same sheet sent twice, or a typed
    order) is not filed but marked a likely duplicate, for the doctor to decide on its card."""
    imp = load_import(uow, actor, now, import_id)
    return _file(uow, actor, now, imp, ready_rows(imp), knowingly=False)


def file_row(uow: UnitOfWork, actor: Actor, now: datetime, import_id: object, row: object) -> Filed:
    """File one row as the doctor decided on its card (an emergency or a duplicate knowingly)."""
    imp = load_import(uow, actor, now, import_id)
    found = [r for r in open_rows(imp) if r["row"] == row]
    if not found:
        raise DomainError("survey.not_pending")
    if found[0].get("emergency"):
        found[0]["emergency_override"] = True
        actor.audit(uow, now, "emergency_override", "survey_import", str(imp.id),
                    detail={"row": row, "reasons": found[0]["reasons"]})
    return _file(uow, actor, now, imp, found, knowingly=True)


def skip_row(uow: UnitOfWork, actor: Actor, now: datetime, import_id: object, row: object) -> SurveyImport:
    """Leave one row out."""
    imp = load_import(uow, actor, now, import_id)
    for r in open_rows(imp):
        if r["row"] == row:
            r["state"] = "skipped"
    _finish(imp)
    uow.surveys.save(imp, now)
    actor.audit(uow, now, "survey_skip", "survey_import", str(imp.id), detail={"row": row})
    return imp


def drop_import(uow: UnitOfWork, actor: Actor, now: datetime, import_id: object) -> None:
    """Give up a pending import; nothing more of it is filed."""
    imp = load_import(uow, actor, now, import_id)
    imp.status = "dropped"
    uow.surveys.save(imp, now)
    actor.audit(uow, now, "survey_drop", "survey_import", str(imp.id))


def _finish(imp: SurveyImport) -> None:
    if not open_rows(imp):
        imp.status = "done"


def _file(uow: UnitOfWork, actor: Actor, now: datetime, imp: SurveyImport, rows: list[dict[str, Any]], *,
          knowingly: bool) -> Filed:
    version = str(imp.extra.get("consent_version") or "")
    numbers = file_rows(uow, actor, now, imp.post_code, imp.village_code, rows, consent_version=version,
                        knowingly=knowingly)
    _finish(imp)
    uow.surveys.save(imp, now)
    actor.audit(uow, now, "survey_confirm", "survey_import", str(imp.id), detail={"orders": numbers})
    return Filed(numbers, township_notices(uow, actor, imp.post_code, imp.village_code, numbers, now),
                 len(open_rows(imp)))


def file_rows(uow: UnitOfWork, actor: Actor, now: datetime, post: str, village: str, rows: list[dict[str, Any]], *,
              consent_version: str, knowingly: bool = False) -> list[str]:
    """File each row's order through the one filing service, registering SMS where the sheet has that consent;
    marks the rows filed. Returns the order numbers.

    Each row's resident is looked up again now (an earlier row of this sheet, or another import, may have added
    them since the sheet was read), so one person never becomes two. Unless the doctor files a row ``knowingly``
    (on its own card), a row whose resident has an open order of the same specialty by now is left unfiled and
    marked a likely duplicate."""
    numbers: list[str] = []
    for r in rows:
        if not r.get("rid"):
            found = uow.residents.find(r["name"], village, r["birth_year"])
            if found is not None and found.consent_withdrawn_at is None and found.sex.value == r["sex"]:
                r["rid"] = found.id
        if r.get("rid") and not knowingly:
            twins = uow.orders.list(post_codes=[post], resident_id=int(r["rid"]), specialty=r["specialty"] or "02",
                                    statuses=OPEN_STATUSES, limit=1)
            if twins:
                r["duplicate"] = t("survey.dupe_order", number=twins[0].number)
                continue
        consent_at = datetime.combine(date.fromisoformat(r["consent_date"]), time(), CHINA)
        draft = {**r, "consent": True, "consent_at": consent_at, "specialty": r["specialty"] or "02"}
        if not r.get("emergency_override"):
            draft.pop("reasons", None)
        resident, order, _ = file_order(uow, staff_id=actor.staff_id, post=post, village=village, draft=draft,
                                        now=now, consent_version=consent_version,
                                        audit=lambda *a, **k: actor.audit(uow, now, *a, **k),
                                        jurisdiction=actor.jurisdiction)
        assert resident.id is not None and order.number is not None
        r.update(state="filed", order=order.number, rid=resident.id)
        numbers.append(order.number)
        if r.get("sms_consent") and r.get("phone"):
            sms_at = datetime.combine(date.fromisoformat(r["sms_consent"]), time(), CHINA)
            register_sms(uow, resident.id, r["phone"], consent_version=SMS_CONSENT_VERSION, now=now,
                         staff_id=actor.staff_id, role=actor.role.value, source="survey", consent_at=sms_at)
    return numbers


def alert_emergencies(uow: UnitOfWork, actor: Actor, now: datetime, post: str, village: str,
                      checked: Checked) -> str:
    """An emergency row is never an order: its township is alerted as for a typed emergency (one alert per row),
    whether the sheet came in chat or on the command line. Returns whom the last alert reached, for the doctor."""
    alerted = ""
    for r in checked.emergencies:
        alerted = alert_township(uow, actor.jurisdiction, now, actor.staff, post, village, r["reasons"],
                                 resident_name=r["name"], resident_id=r.get("rid"),
                                 audit=lambda *a, **k: actor.audit(uow, now, *a, **k))
    return alerted


def township_notices(uow: UnitOfWork, actor: Actor, post: str, village: str, numbers: list[str],
                     now: datetime) -> list[Notice]:
    """One notice to each township reviewer of the post's health center for a batch of filed orders."""
    if not numbers:
        return []
    j, day = actor.jurisdiction, today_of(now)
    centers = sorted(c for c in j.network.supporters_of(post, day)
                     if j.network.supports(c, post, day, direct=True) and (k := j.kind_of(c)) is not None
                     and k.is_grassroots_center)
    ids = uow.staff.ids_at(centers, Role.TOWNSHIP_REVIEWER)
    place = uow.reference.gazetteer().get(village)
    text = t("survey.notify", village=place.name if place else village, doctor=actor.staff.name, count=len(numbers),
             numbers="、".join(numbers[:20]) + ("…" if len(numbers) > 20 else ""))
    return [Notice(acc, text, f"survey:{numbers[0]}:{acc.id}") for acc in uow.chat.accounts_of_staff(ids)]


# ----------------------------------------------------------------------------------------------- the template


def template_xlsx() -> bytes:
    """The blank survey sheet: the header, columns wide enough to read, and a second sheet saying how to fill it."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "摸底表"
    ws.append(list(TEMPLATE_HEADER))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGH", (10, 6, 14, 16, 40, 14, 14, 16), strict=True):
        ws.column_dimensions[letter].width = width
    notes = wb.create_sheet("填写说明")
    for line in (
        "每位居民一行；第一行是表头，请勿修改。",
        "性别：男 或 女。出生年份/年龄：1956 或 70岁。",
        "知情同意日期：居民另行书面同意的日期（必填，如 2026-11-20）；没有同意的居民不能导入。",
        "紧急程度：尽快 或 常规（可留空，由需求判断）。",
        "短信同意日期：居民同意用短信接收坐诊预告的日期（可选，须有手机号）。",
        "疑似急症的行不会随“全部提交”提交：请立即电话联系居民，必要时拨打120。",
    ):
        notes.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
