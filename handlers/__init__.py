"""Conversations for every role: transport-agnostic, ``Inbound`` in, ``Outbound`` out."""

from __future__ import annotations

from handlers import (
    catalogue,
    emergency,
    expert,
    feedback,
    links,
    onboarding,
    plan,
    posters,
    referrals,
    remote,
    review,
    sms,
    survey,
    village,
)
from handlers.core import (
    Attachment,
    Button,
    Conversation,
    Inbound,
    Middleware,
    Outbound,
    Printable,
    QrCode,
    Router,
    Services,
    Update,
    split_text,
)
from handlers.middleware import FloodGuard, default_middlewares


def build_router() -> Router:
    """All flows in one router."""
    router = Router()
    for module in (onboarding, links, village, review, remote, expert, plan, posters, feedback, emergency, sms,
                   catalogue, referrals, survey):
        router.include(module.router)
    return router


__all__ = [
    "Attachment",
    "Button",
    "Conversation",
    "FloodGuard",
    "Inbound",
    "Middleware",
    "Outbound",
    "Printable",
    "QrCode",
    "Services",
    "Update",
    "build_router",
    "default_middlewares",
    "split_text",
]
