"""QR codes as images, for the transports that can send one (issue 17: QR codes instead of typing).

A handler attaches a :class:`~handlers.core.QrCode` (a scene, how long it lives, a caption) to a reply. A transport
that sends images asks :class:`QrImages` for the PNG: the Official Account issues a parametric QR code for the scene
(``qrcode/create``) and answers the ``url`` the code stands for, and segno draws that URL here. Drawing it
ourselves rather than downloading WeChat's picture (``showqrcode``) costs one call instead of two, and the image
holds nothing but WeChat's short address: no name, no link code (the scene stays with WeChat).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from handlers.core import QrCode

log = logging.getLogger(__name__)

SCALE = 12  # pixels a module: ~450 px for WeChat's short address, sharp enough to print for a notice board
BORDER = 4  # the quiet zone the QR standard asks for, in modules


def draw_png(content: str, *, scale: int = SCALE) -> bytes:
    """A PNG of the QR code for ``content`` (error correction M: a print may get a little dirty)."""
    import segno

    buffer = io.BytesIO()
    segno.make(content, error="m", micro=False).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


class QrImages:
    """Turns a handler's :class:`QrCode` into a PNG through the Official Account.

    Args:
        issue: ``issue(scene, expire_seconds)`` makes the account's QR code for ``scene`` (temporary for
            ``expire_seconds``, permanent when None) and returns the URL it encodes; it may block (HTTP).
    """

    def __init__(self, issue: Callable[[str, int | None], str]):
        self.issue = issue

    def png(self, qr: QrCode) -> bytes | None:
        """In a worker thread: the PNG of ``qr``, or None when the account refused or could not be reached (logged:
        the message's text still goes, and it names the typed way in)."""
        seconds = int(qr.expires_in.total_seconds()) if qr.expires_in is not None else None
        try:
            url = self.issue(qr.scene, seconds)
        except Exception as e:
            log.warning("no QR code from the Official Account (%s): the text goes alone", getattr(e, "errcode", e))
            return None
        return draw_png(url)
