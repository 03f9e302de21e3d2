"""Staff, residents and their consent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Role(StrEnum):
    """What a person may do in the service; one person may hold several roles."""

    VILLAGE_DOCTOR = "village_doctor"
    TOWNSHIP_REVIEWER = "township_reviewer"
    HOSPITAL_REVIEWER = "hospital_reviewer"
    EXPERT = "expert"
    ADMIN = "admin"


# The order in which roles are offered when a person holds several.
ROLE_ORDER = (Role.VILLAGE_DOCTOR, Role.TOWNSHIP_REVIEWER, Role.HOSPITAL_REVIEWER, Role.EXPERT, Role.ADMIN)


class TitleLevel(StrEnum):
    """Professional title level (职称)."""

    JUNIOR = "初级"
    INTERMEDIATE = "中级"
    ASSOCIATE_SENIOR = "副高"
    SENIOR = "正高"

    @property
    def rank(self) -> int:
        """0 for 初级 up to 3 for 正高."""
        return list(TitleLevel).index(self)

    @property
    def intermediate_or_above(self) -> bool:
        """The targets count physicians of intermediate title or above."""
        return self.rank >= 1


class Sex(StrEnum):
    """Sex as recorded by the village doctor."""

    MALE = "M"
    FEMALE = "F"


@dataclass(slots=True)
class Staff:
    """A health worker: village doctor, reviewer, expert or administrator."""

    code: str
    name: str
    institution_code: str
    title: TitleLevel
    specialties: frozenset[str] = frozenset()
    roles: frozenset[Role] = frozenset()
    phone: str | None = None
    id: int | None = None
    active: bool = True

    def has_role(self, role: Role) -> bool:
        """True if this person holds ``role``."""
        return role in self.roles


@dataclass(frozen=True, slots=True)
class Consent:
    """A resident's separate consent to the processing of their health information (PIPL art. 29)."""

    version: str
    recorded_at: datetime
    recorded_by_staff_id: int | None


@dataclass(slots=True)
class Resident:
    """A villager whose needs become orders."""

    name: str
    sex: Sex
    birth_year: int
    village_code: str
    phone: str | None = None
    id_number: str | None = None
    consent: Consent | None = None
    id: int | None = None
    consent_withdrawn_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day`` (birth year only is known, so 1 January is assumed)."""
        return max(0, day.year - self.birth_year)

    @property
    def has_consent(self) -> bool:
        """True if consent is recorded and not withdrawn."""
        return self.consent is not None and self.consent_withdrawn_at is None


MAX_NAME = 20
MAX_CHINESE_NAME = 6  # without a "·": Han names have two to four characters, a few transliterated ones up to six
_NAME_DOTS = "·•・."


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def is_person_name(text: str) -> bool:
    """Plausible as a resident's name: two to twenty characters of Chinese script (a minority name may join its
    parts with "·"), or Latin letters and spaces; never digits, emoji or other punctuation."""
    name = text.strip()
    if not 2 <= len(name) <= MAX_NAME:
        return False
    if all(_is_han(ch) for ch in name):
        return len(name) <= MAX_CHINESE_NAME
    if all(_is_han(ch) or ch in _NAME_DOTS for ch in name):
        parts = [p for p in "".join(" " if ch in _NAME_DOTS else ch for ch in name).split(" ")]
        return len(parts) >= 2 and all(parts)
    return all(ch.isascii() and (ch.isalpha() or ch == " ") for ch in name) and any(ch.isalpha() for ch in name)
