"""The national catalogue of clinical departments (医疗机构诊疗科目名录), loaded from data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Specialty:
    """One clinical department: a code such as ``03.04`` and its Chinese name."""

    code: str
    name: str

    @property
    def parent_code(self) -> str | None:
        """The code of the enclosing department (``03`` for ``03.04``), or None at the top."""
        return self.code.split(".")[0] if "." in self.code else None

class SpecialtyCatalogue:
    """Lookup of specialties by code and by name."""

    def __init__(self, specialties: list[Specialty]):
        self._by_code: dict[str, Specialty] = {}
        self._by_name: dict[str, Specialty] = {}
        for s in specialties:
            if s.code in self._by_code:
                raise ValueError(f"duplicate specialty code {s.code}")
            self._by_code[s.code] = s
            self._by_name.setdefault(s.name, s)
        for s in specialties:
            if s.parent_code and s.parent_code not in self._by_code:
                raise ValueError(f"specialty {s.code} has unknown parent {s.parent_code}")

    def __iter__(self):
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Specialty | None:
        """The specialty with this code, or None."""
        return self._by_code.get(code)

    def by_code(self, code: str) -> Specialty:
        """The specialty with this code; raises ``DomainError('specialty.unknown')`` otherwise."""
        try:
            return self._by_code[code]
        except KeyError:
            raise DomainError("specialty.unknown", code=code) from None

    def by_name(self, name: str) -> Specialty:
        """The specialty with this exact Chinese name (``心血管内科``), or ``DomainError``."""
        name = name.strip()
        s = self._by_name.get(name) or self._by_name.get(name.removesuffix("科"))
        if s is None:
            raise DomainError("specialty.unknown", code=name)
        return s

    def children(self, code: str) -> list[Specialty]:
        """The direct sub-specialties of ``code``."""
        return [s for s in self._by_code.values() if s.parent_code == code]

    def top_level(self) -> list[Specialty]:
        """The first-level departments (``02``, ``03``, ...)."""
        return [s for s in self._by_code.values() if s.parent_code is None]


def _parse(text: str) -> list[Specialty]:
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, name = line.split("\t")
        out.append(Specialty(code.strip(), name.strip()))
    return out


@cache
def catalogue() -> SpecialtyCatalogue:
    """The catalogue shipped with the project (``domain/data/specialties.tsv``), loaded once."""
    text = resources.files("domain").joinpath("data/specialties.tsv").read_text(encoding="utf-8")
    return SpecialtyCatalogue(_parse(text))
