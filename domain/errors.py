"""Domain errors carry a message key; the handlers' catalogue turns the key into Chinese text."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken. ``key`` names the message in the text catalogue."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        if not self.params:
            return self.key
        return f"{self.key} {self.params}"


class IllegalTransition(DomainError):
    """An order was asked to move to a state it cannot reach from where it is."""


class PermissionDenied(DomainError):
    """This person, in this role, may not do this to this record."""
