"""Reference-data files (places, institutions, support relations, staff, residents): parse and validate.

A file is accepted whole or rejected whole; every problem is reported with its row number in
Chinese and English, so a clerk can fix the spreadsheet and try again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from domain.errors import DomainError
from domain.places import Institution, InstitutionKind, Place, PlaceLevel
from domain.privacy import is_plausible_phone, is_valid_mobile, mask_phone, normalise_phone
from domain.specialties import catalogue
from domain.staff import Resident, Role, Sex, Staff, TitleLevel
from domain.support import SupportRelation

# Columns of each kind of file; the header decides which kind a file is.
COLUMNS: dict[str, tuple[str, ...]] = {
    "places": ("code", "name", "level", "parent_code", "market_days"),
    "institutions": ("code", "name", "kind", "place_code", "phone"),
    "support": ("supporter_code", "supported_code", "start_date", "end_date"),
    "staff": ("code", "name", "institution_code", "title", "specialties", "roles", "phone"),
    # sms_consent: the date the survey recorded the resident's consent to SMS announcements (needs a mobile phone)
    "residents": ("name", "sex", "birth_year", "village_code", "phone", "sms_consent"),
}
OPTIONAL = {"market_days", "end_date", "phone", "parent_code", "specialties", "sms_consent"}
# Files are applied in this order so that parents exist before children.
LOAD_ORDER = ("places", "institutions", "support", "staff", "residents")

MARKET_DAYS = re.compile(r"^(lunar|solar):(\d{1,2})(,\d{1,2})*$")
MAX_FIELD = 200


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row of one file."""

    file: str
    row: int  # the line number as a spreadsheet shows it (header = 1)
    column: str
    zh: str
    en: str

    def __str__(self) -> str:
        where = f"{self.file} 第{self.row}行" + (f" [{self.column}]" if self.column else "")
        return f"{where}: {self.zh} / row {self.row}: {self.en}"


class ImportRejected(DomainError):
    """The batch was rejected whole; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]):
        super().__init__("import.rejected", count=len(errors))
        self.errors = errors


@dataclass(slots=True)
class KnownCodes:
    """What the database already holds, so a file may refer to it."""

    places: dict[str, PlaceLevel] = field(default_factory=dict)
    institutions: dict[str, InstitutionKind] = field(default_factory=dict)
    institution_places: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ReferenceBatch:
    """Validated rows, ready to be written in ``LOAD_ORDER``."""

    places: list[Place] = field(default_factory=list)
    institutions: list[Institution] = field(default_factory=list)
    support: list[SupportRelation] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    # Institutions from files without a phone column: their stored phone is left as it is.
    keep_phone: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        """Rows per kind."""
        return {k: len(getattr(self, k)) for k in LOAD_ORDER}


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM) or GB18030/GBK, as saved by Excel on Chinese Windows."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("import.encoding")


def detect_kind(header: Iterable[str]) -> str | None:
    """Which kind of file has this header (required columns present), or None."""
    cols = {h.strip().lower() for h in header}
    for kind, expected in COLUMNS.items():
        required = {c for c in expected if c not in OPTIONAL}
        if required <= cols and cols <= set(expected):
            return kind
    return None


_LEVEL_ZH = {"city": "市", "county": "县（区、市）", "township": "乡镇", "village": "行政村"}
_INSTITUTION_LEVEL = {
    InstitutionKind.VILLAGE_POST: {PlaceLevel.VILLAGE},
    InstitutionKind.TOWNSHIP_CENTER: {PlaceLevel.TOWNSHIP},
    InstitutionKind.COMMUNITY_CENTER: {PlaceLevel.TOWNSHIP},
    InstitutionKind.COUNTY_HOSPITAL: {PlaceLevel.COUNTY},
    InstitutionKind.CITY_HOSPITAL: {PlaceLevel.CITY, PlaceLevel.COUNTY},
    InstitutionKind.PROVINCIAL_HOSPITAL: {PlaceLevel.CITY, PlaceLevel.COUNTY},
    InstitutionKind.HEALTH_COMMISSION: {PlaceLevel.CITY, PlaceLevel.COUNTY},
}
_SEX = {"M": Sex.MALE, "F": Sex.FEMALE, "男": Sex.MALE, "女": Sex.FEMALE}


class _Validator:
    def __init__(self, known: KnownCodes, today: date):
        self.known = known
        self.today = today
        self.errors: list[RowError] = []
        self.batch = ReferenceBatch()
        self.place_levels: dict[str, PlaceLevel] = dict(known.places)
        self.institution_kinds: dict[str, InstitutionKind] = dict(known.institutions)
        self.institution_places: dict[str, str] = dict(known.institution_places)

    def err(self, file: str, row: int, column: str, zh: str, en: str) -> None:
        self.errors.append(RowError(file, row, column, zh, en))

    def run(self, files: list[tuple[str, str, list[dict[str, str]]]]) -> None:
        by_kind = sorted(files, key=lambda f: LOAD_ORDER.index(f[1]))
        # Codes defined anywhere in the batch count as known, so one batch may hold parent and child.
        for _name, kind, rows in by_kind:
            if kind == "places":
                for r in rows:
                    lvl = r.get("level", "").strip()
                    if lvl in PlaceLevel._value2member_map_:
                        self.place_levels.setdefault(r["code"].strip(), PlaceLevel(lvl))
            elif kind == "institutions":
                for r in rows:
                    k = r.get("kind", "").strip()
                    if k in InstitutionKind._value2member_map_:
                        self.institution_kinds.setdefault(r["code"].strip(), InstitutionKind(k))
                        self.institution_places.setdefault(r["code"].strip(), r.get("place_code", "").strip())
        for name, kind, rows in by_kind:
            seen: dict[str, int] = {}
            for i, row in enumerate(rows, start=2):
                r = {k: (v or "").strip() for k, v in row.items() if k is not None}
                if None in row:
                    self.err(name, i, "", "列数多于表头", "more cells than header columns")
                    continue
                too_long = [k for k, v in r.items() if len(v) > MAX_FIELD]
                if too_long:
                    self.err(name, i, too_long[0], f"内容超过{MAX_FIELD}字", f"longer than {MAX_FIELD} chars")
                    continue
                key = self._key(kind, r)
                if key in seen:
                    self.err(name, i, "code", f"与第{seen[key]}行重复：{key}", f"duplicate of row {seen[key]}: {key}")
                    continue
                seen[key] = i
                getattr(self, f"_{kind}")(name, i, r)

    @staticmethod
    def _key(kind: str, r: dict[str, str]) -> str:
        if kind == "support":
            return f"{r.get('supporter_code')}→{r.get('supported_code')}@{r.get('start_date')}"
        if kind == "residents":
            return f"{r.get('name')}/{r.get('village_code')}/{r.get('birth_year')}"
        return r.get("code", "")

    def _required(self, name: str, i: int, r: dict[str, str], *cols: str) -> bool:
        ok = True
        for c in cols:
            if not r.get(c):
                self.err(name, i, c, f"缺少必填项 {c}", f"missing required value {c}")
                ok = False
        return ok

    def _places(self, name: str, i: int, r: dict[str, str]) -> None:
        if not self._required(name, i, r, "code", "name", "level"):
            return
        try:
            level = PlaceLevel(r["level"])
        except ValueError:
            self.err(name, i, "level", f"未知层级：{r['level']}", f"unknown level: {r['level']}")
            return
        parent = r.get("parent_code") or None
        if level.parent_level is None:
            if parent:
                self.err(name, i, "parent_code", "市级不应有上级", "a city has no parent")
                return
        else:
            if not parent:
                self.err(name, i, "parent_code", "缺少上级编码", "missing parent_code")
                return
            plevel = self.place_levels.get(parent)
            if plevel is None:
                self.err(name, i, "parent_code", f"上级编码不存在：{parent}", f"unknown parent: {parent}")
                return
            if plevel is not level.parent_level:
                self.err(
                    name,
                    i,
                    "parent_code",
                    f"{_LEVEL_ZH[level.value]}的上级应为{_LEVEL_ZH[level.parent_level.value]}",
                    f"a {level.value} must sit under a {level.parent_level.value}, not a {plevel.value}",
                )
                return
        market = r.get("market_days") or None
        if market:
            if level is not PlaceLevel.TOWNSHIP:
                self.err(name, i, "market_days", "只有乡镇可设圩日", "only townships have market days")
                return
            if not MARKET_DAYS.match(market) or not all(1 <= int(d) <= 31 for d in market.split(":")[1].split(",")):
                self.err(
                    name,
                    i,
                    "market_days",
                    f"圩日格式应如 lunar:3,8，而不是 {market}",
                    f"market_days must look like lunar:3,8, not {market}",
                )
                return
        self.batch.places.append(Place(r["code"], r["name"], level, parent, market))

    def _institutions(self, name: str, i: int, r: dict[str, str]) -> None:
        if not self._required(name, i, r, "code", "name", "kind", "place_code"):
            return
        try:
            kind = InstitutionKind(r["kind"])
        except ValueError:
            self.err(name, i, "kind", f"未知机构类型：{r['kind']}", f"unknown kind: {r['kind']}")
            return
        plevel = self.place_levels.get(r["place_code"])
        if plevel is None:
            self.err(name, i, "place_code", f"地点编码不存在：{r['place_code']}", f"unknown place: {r['place_code']}")
            return
        if plevel not in _INSTITUTION_LEVEL[kind]:
            self.err(
                name,
                i,
                "place_code",
                f"{kind.value} 不能设在{_LEVEL_ZH[plevel.value]}",
                f"a {kind.value} cannot be at a {plevel.value}",
            )
            return
        phone = r.get("phone") or None
        if phone and not is_plausible_phone(phone):
            # An institution's number is public: the clerk sees it as typed.
            self.err(name, i, "phone", f"电话号码无效：{phone}", f"invalid phone number: {phone}")
            return
        self.batch.institutions.append(Institution(r["code"], r["name"], kind, r["place_code"], phone))
        if "phone" not in r:
            self.batch.keep_phone.add(r["code"])

    def _date(self, name: str, i: int, col: str, value: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.err(name, i, col, f"日期格式应为 YYYY-MM-DD：{value}", f"date must be YYYY-MM-DD: {value}")
            return None

    def _support(self, name: str, i: int, r: dict[str, str]) -> None:
        if not self._required(name, i, r, "supporter_code", "supported_code", "start_date"):
            return
        ok = True
        for col in ("supporter_code", "supported_code"):
            if r[col] not in self.institution_kinds:
                self.err(name, i, col, f"机构编码不存在：{r[col]}", f"unknown institution: {r[col]}")
                ok = False
        if ok and r["supporter_code"] == r["supported_code"]:
            self.err(name, i, "supported_code", "机构不能支援自己", "an institution cannot support itself")
            ok = False
        start = self._date(name, i, "start_date", r["start_date"])
        end = self._date(name, i, "end_date", r["end_date"]) if r.get("end_date") else None
        if start and end and end < start:
            self.err(name, i, "end_date", "结束日期早于开始日期", "end_date is before start_date")
            ok = False
        if ok and start and (end is not None or not r.get("end_date")):
            self.batch.support.append(SupportRelation(r["supporter_code"], r["supported_code"], start, end))

    def _phone(self, name: str, i: int, r: dict[str, str]) -> tuple[bool, str | None]:
        phone = r.get("phone") or None
        if phone and not is_valid_mobile(phone):
            self.err(
                name, i, "phone", f"手机号无效：{mask_phone(phone)}", f"invalid mobile number: {mask_phone(phone)}"
            )
            return False, None
        return True, normalise_phone(phone) if phone else None

    def _staff(self, name: str, i: int, r: dict[str, str]) -> None:
        if not self._required(name, i, r, "code", "name", "institution_code", "title", "roles"):
            return
        ok = True
        if r["institution_code"] not in self.institution_kinds:
            self.err(
                name,
                i,
                "institution_code",
                f"机构编码不存在：{r['institution_code']}",
                f"unknown institution: {r['institution_code']}",
            )
            ok = False
        try:
            title = TitleLevel(r["title"])
        except ValueError:
            self.err(
                name,
                i,
                "title",
                f"未知职称级别：{r['title']}（应为 初级/中级/副高/正高）",
                f"unknown title level: {r['title']}",
            )
            ok = False
        specialties = [s.strip() for s in r.get("specialties", "").split(";") if s.strip()]
        for s in specialties:
            if s not in catalogue():
                self.err(name, i, "specialties", f"未知诊疗科目编码：{s}", f"unknown specialty code: {s}")
                ok = False
        roles = [x.strip() for x in r["roles"].split(";") if x.strip()]
        for x in roles:
            if x not in Role._value2member_map_:
                self.err(name, i, "roles", f"未知角色：{x}", f"unknown role: {x}")
                ok = False
        phone_ok, phone = self._phone(name, i, r)
        if ok and phone_ok:
            self.batch.staff.append(
                Staff(
                    code=r["code"],
                    name=r["name"],
                    institution_code=r["institution_code"],
                    title=title,
                    specialties=frozenset(specialties),
                    roles=frozenset(Role(x) for x in roles),
                    phone=phone,
                )
            )

    def _residents(self, name: str, i: int, r: dict[str, str]) -> None:
        if not self._required(name, i, r, "name", "sex", "birth_year", "village_code"):
            return
        ok = True
        sex = _SEX.get(r["sex"].upper() if r["sex"].isascii() else r["sex"])
        if sex is None:
            self.err(name, i, "sex", f"性别应为 M/F 或 男/女：{r['sex']}", f"sex must be M/F: {r['sex']}")
            ok = False
        year = int(r["birth_year"]) if r["birth_year"].isdigit() else 0
        if not 1900 <= year <= self.today.year:
            self.err(
                name, i, "birth_year", f"出生年份无效：{r['birth_year']}", f"invalid birth year: {r['birth_year']}"
            )
            ok = False
        if self.place_levels.get(r["village_code"]) is not PlaceLevel.VILLAGE:
            self.err(
                name,
                i,
                "village_code",
                f"行政村编码不存在：{r['village_code']}",
                f"unknown village: {r['village_code']}",
            )
            ok = False
        phone_ok, phone = self._phone(name, i, r)
        extra: dict[str, str] = {}
        if r.get("sms_consent"):
            try:
                day = date.fromisoformat(r["sms_consent"].strip())
            except ValueError:
                day = None
            if day is None or day > self.today:
                self.err(name, i, "sms_consent", f"短信同意日期无效：{r['sms_consent']}（应为 YYYY-MM-DD）",
                         f"invalid SMS consent date: {r['sms_consent']}")
                ok = False
            elif not phone:
                self.err(name, i, "sms_consent", "同意接收短信的居民须填写手机号",
                         "an SMS consent needs a mobile number")
                ok = False
            else:
                extra["sms_consent"] = day.isoformat()
        if ok and phone_ok and sex is not None:
            self.batch.residents.append(Resident(r["name"], sex, year, r["village_code"], phone=phone, extra=extra))


def parse_rows(name: str, data: bytes) -> tuple[str | None, list[dict[str, str]], list[RowError]]:
    """Decode and split one file; returns its kind, its rows and any file-level errors."""
    try:
        text = decode(data)
    except DomainError:
        return (
            None,
            [],
            [
                RowError(
                    name, 1, "", "文件编码无法识别（请另存为 UTF-8 或 GBK）", "unknown encoding (save as UTF-8 or GBK)"
                )
            ],
        )
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    kind = detect_kind(header)
    if kind is None:
        expected = " | ".join(",".join(c) for c in COLUMNS.values())
        return (
            None,
            [],
            [
                RowError(
                    name,
                    1,
                    "",
                    f"表头无法识别：{','.join(header)}；应为以下之一：{expected}",
                    f"unrecognised header; expected one of: {expected}",
                )
            ],
        )
    reader.fieldnames = header
    rows = list(reader)
    if not rows:
        return kind, [], [RowError(name, 2, "", "文件没有数据行", "the file has no data rows")]
    return kind, rows, []


def validate(files: Mapping[str, bytes], known: KnownCodes, today: date) -> ReferenceBatch:
    """Parse and check every file; returns the batch or raises ``ImportRejected`` with all errors."""
    parsed = []
    errors: list[RowError] = []
    for name, data in files.items():
        kind, rows, errs = parse_rows(name, data)
        errors.extend(errs)
        if kind and not errs:
            parsed.append((name, kind, rows))
    v = _Validator(known, today)
    v.run(parsed)
    errors.extend(v.errors)
    if errors:
        raise ImportRejected(errors)
    return v.batch
