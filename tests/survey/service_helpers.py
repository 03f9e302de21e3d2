"""The survey use cases called directly, as the command line and the chat do."""

from __future__ import annotations

from domain.staff import Role
from handlers.services import Actor


def actor(uow, staff_code: str, role: Role) -> Actor:
    """A member of staff acting in ``role``."""
    st = uow.staff.by_code(staff_code)
    return Actor(st, role, uow.reference.jurisdiction(), {"via": "test"})
