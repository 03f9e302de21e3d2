"""Writing validated reference data (places, institutions, relations, staff, residents) in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from domain.orders import AuditEvent
from domain.places import InstitutionKind, PlaceLevel
from domain.privacy import mask_phone
from domain.reference import KnownCodes, ReferenceBatch, validate
from domain.sms import SMS_CONSENT_VERSION
from domain.specialties import catalogue
from storage.tables import InstitutionRow, PlaceRow
from storage.uow import SqlUnitOfWork

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(slots=True)
class ImportReport:
    """What an import did: per kind, rows created or updated, and rows already identical."""

    changed: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def total_changed(self) -> int:
        """Rows written in all."""
        return sum(self.changed.values())


def known_codes(uow: SqlUnitOfWork) -> KnownCodes:
    """Place and institution codes already in the database."""
    s = uow.session
    known = KnownCodes()
    for code, level in s.exec(select(col(PlaceRow.code), col(PlaceRow.level))):
        known.places[code] = PlaceLevel(level)
    for code, kind, place in s.exec(
        select(col(InstitutionRow.code), col(InstitutionRow.kind), col(InstitutionRow.place_code))
    ):
        known.institutions[code] = InstitutionKind(kind)
        known.institution_places[code] = place
    return known


def apply_batch(uow: SqlUnitOfWork, batch: ReferenceBatch, progress=None) -> ImportReport:
    """Write a validated batch; identical rows are left alone, so a re-run changes nothing."""
    report = ImportReport()
    uow.reference.sync_specialties(catalogue())

    def tally(kind: str, changed: bool) -> None:
        bucket = report.changed if changed else report.unchanged
        bucket[kind] = bucket.get(kind, 0) + 1
        if progress:
            progress(kind)

    # Parents first: a place's parent may come later in the file.
    depth = {lvl: i for i, lvl in enumerate(PlaceLevel)}
    # Each kind is written set-wise (what is stored read in a few statements, the differences in one executemany);
    # the progress counts it row by row all the same.
    writes = (
        ("places", lambda: uow.reference.upsert_places(sorted(batch.places, key=lambda p: depth[p.level]))),
        ("institutions", lambda: uow.reference.upsert_institutions(batch.institutions, batch.keep_phone)),
        ("support", lambda: uow.reference.upsert_relations(batch.support)),
        ("staff", lambda: uow.staff.upsert_many(batch.staff)),
    )
    for kind, write in writes:
        for changed in write():
            tally(kind, changed)
    for res in batch.residents:
        found = uow.residents.find(res.name, res.village_code, res.birth_year)
        if found is None:
            uow.residents.add(res)
            found = res
            tally("residents", True)
        else:
            tally("residents", False)
        if res.extra.get("sms_consent") and res.phone and found.id is not None:
            tally("sms", _register_sms_from_survey(uow, found.id, res.village_code, res.phone,
                                                   date.fromisoformat(res.extra["sms_consent"])))
    if any(k not in ("residents", "sms") for k in report.changed):
        uow.next_value("reference_version")  # tells caches of places, institutions and relations to reload
    return report


def _register_sms_from_survey(uow: SqlUnitOfWork, resident_id: int, village_code: str, phone: str, day: date) -> bool:
    """The survey recorded the resident's SMS consent on ``day``: register the number, unless the resident has a
    registration already (a re-import never undoes a "TD" or the doctor's stop). Audited like one made in chat."""
    if uow.sms.of_resident(resident_id) is not None:
        return False
    at = datetime.combine(day, time(0), CHINA)
    reg = uow.sms.register(resident_id, village_code, phone, consent_version=SMS_CONSENT_VERSION, consent_at=at,
                           staff_id=None, source="import", now=at)
    uow.audit.append(AuditEvent(None, "system", "sms_register", "resident", str(resident_id), None, None, None, at,
                                {"registration": reg.id, "phone": mask_phone(phone),
                                 "consent_version": SMS_CONSENT_VERSION, "source": "import"}))
    return True


def import_files(uow: SqlUnitOfWork, files: Mapping[str, bytes], today: date, progress=None) -> ImportReport:
    """Validate and write files as one batch; raises ``ImportRejected`` and writes nothing on any error."""
    batch = validate(files, known_codes(uow), today)
    report = apply_batch(uow, batch, progress)
    uow.commit()
    return report
