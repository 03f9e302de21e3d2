"""The unit of work as the handlers and use cases see it: an interface, without the SQL implementation behind it.

``handlers/`` and the use cases in ``handlers/services`` are typed against :class:`UnitOfWork`; the composition root
hands them ``storage.uow.SqlUnitOfWork`` (mypy checks it fits, see ``storage.uow``), on SQLite or PostgreSQL. The
repositories are named by their classes: each exists once, in ``storage.repositories``, for every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, Self

from storage.crypto import FieldCipher
from storage.repositories.alerts import EmergencyAlertRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.catalogue import CatalogueRepository
from storage.repositories.chat import ChatRepository
from storage.repositories.circuits import CircuitRepository
from storage.repositories.followups import FollowupRepository
from storage.repositories.ledgers import LedgerRepository
from storage.repositories.links import LinkRepository
from storage.repositories.orders import OrderRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.prompts import PromptRepository
from storage.repositories.reference import ReferenceRepository
from storage.repositories.referrals import ReferralRepository
from storage.repositories.remote import RemoteRepository
from storage.repositories.residents import ResidentRepository
from storage.repositories.schedule import ScheduleRepository
from storage.repositories.sms import SmsRepository
from storage.repositories.staff import StaffRepository
from storage.repositories.survey import SurveyRepository


class UnitOfWork(Protocol):
    """One transaction and the repositories working inside it: ``with uow: ...; uow.commit()``.

    Leaving the ``with`` block without a commit rolls everything back. The repositories exist only inside the
    block. Members are read-only here: a handler reads them, only the implementation sets them.
    """

    def __enter__(self) -> Self:
        """Begin: the repositories are ready, the transaction starts with the first statement."""
        ...

    def __exit__(self, *exc: object) -> None:
        """End: roll back whatever was not committed, and give the connection back."""
        ...

    def commit(self) -> None:
        """Make everything done in this unit of work permanent, atomically."""
        ...

    def rollback(self) -> None:
        """Discard everything done in this unit of work (the unit of work stays open for more)."""
        ...

    def next_value(self, name: str) -> int:
        """Atomically increment the named counter and return its new value.

        Args:
            name: the counter; ``"reference_version"`` also tells every worker's caches that staff or reference
                data changed.

        Returns:
            The counter's new value (1 the first time).
        """
        ...

    @property
    def cipher(self) -> FieldCipher:
        """The key for personal fields and for the keyed hashes codes are looked up by."""
        ...

    @property
    def reference_changed(self) -> bool:
        """True once this unit of work changed staff or reference data that is not yet committed."""
        ...

    @property
    def reference(self) -> ReferenceRepository:
        """Places, institutions, support relations and the specialty table."""
        ...

    @property
    def staff(self) -> StaffRepository:
        """Members of staff, their roles and specialties."""
        ...

    @property
    def residents(self) -> ResidentRepository:
        """Residents; phone and ID numbers are encrypted at rest."""
        ...

    @property
    def orders(self) -> OrderRepository:
        """Orders; saving one also appends its audit events, in the same transaction."""
        ...

    @property
    def circuits(self) -> CircuitRepository:
        """Circuit visits and their experts."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """The append-only audit log."""
        ...

    @property
    def chat(self) -> ChatRepository:
        """Chat accounts and their conversation state, buttons, invites, subscriptions, update ids seen."""
        ...

    @property
    def prompts(self) -> PromptRepository:
        """The choices put to each chat account, for reading a reply typed instead of pressed."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """Outbound messages: enqueued, claimed, settled."""
        ...

    @property
    def schedule(self) -> ScheduleRepository:
        """Circuit changes and their log, announcements and fan-out, leave days and expert profiles."""
        ...

    @property
    def alerts(self) -> EmergencyAlertRepository:
        """Emergency alerts: stored, acknowledged, escalated."""
        ...

    @property
    def links(self) -> LinkRepository:
        """Residents' link codes, and the confirmations that wait for a yes."""
        ...

    @property
    def ledgers(self) -> LedgerRepository:
        """Ledgers, ratings, reports and dashboard sessions."""
        ...

    @property
    def sms(self) -> SmsRepository:
        """SMS registrations (encrypted numbers, consent, opt-out), their fan-out and the provider's receipts."""
        ...

    @property
    def catalogue(self) -> CatalogueRepository:
        """First-diagnosis catalogues (dated entries, tiers) and the entry each order matched."""
        ...

    @property
    def remote(self) -> RemoteRepository:
        """Remote consultation sessions (远程会诊), their reminders and outcomes."""
        ...

    @property
    def referrals(self) -> ReferralRepository:
        """Slots hospitals reserve for grassroots referrals, and the referrals booked on them."""
        ...

    @property
    def followups(self) -> FollowupRepository:
        """Follow-up tasks of village posts (from down-referrals and remote consultations)."""
        ...

    @property
    def surveys(self) -> SurveyRepository:
        """Survey imports waiting for the village doctor's confirmation (rows encrypted)."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Opens a fresh unit of work (``Services.uow``)."""
