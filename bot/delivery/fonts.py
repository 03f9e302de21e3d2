"""The Chinese font printed pages are set in: from the machine's set-up, found or refused loudly, never assumed.

A PDF can name a font the reader supplies (reportlab's CID font ``STSong-Light``), but a rasterised page (the PNG)
must have the glyphs here, and a page for a notice board must look the same on every printer: so the font is
embedded, and it must be a real file. ``XUNZHEN_CJK_FONT`` names one (a TrueType ``.ttf``, or a ``.ttc`` with
``#index`` for another face than the first); else Debian's WenQuanYi Zen Hei (``fonts-wqy-zenhei``, which
``make test`` installs on CI) or one of the other TrueType CJK fonts Debian ships. reportlab embeds TrueType
outlines only, so Noto CJK and Source Han (CFF outlines) are not among them.

Every character of a page is checked against the font's character map before anything is drawn: a missing glyph
would print as an empty box (tofu), so it is an error that names the characters and how to install a font.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Debian's TrueType CJK fonts, in order of preference (package in the comment).
DEBIAN_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),  # fonts-arphic-uming
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),  # fonts-arphic-ukai
)
INSTALL_HINT = ("请安装中文字体：apt-get install fonts-wqy-zenhei，"
                "或用 XUNZHEN_CJK_FONT 指向一个 TrueType 中文字体文件 / install a CJK font "
                "(apt-get install fonts-wqy-zenhei) or point XUNZHEN_CJK_FONT at a TrueType CJK font file")
_lock = threading.Lock()
_loaded: dict[tuple[str, int], CjkFont] = {}


class FontMissing(RuntimeError):
    """No usable Chinese font: the message says what is missing and how to install one, in Chinese and English."""


@dataclass(frozen=True, slots=True)
class CjkFont:
    """A TrueType font registered with reportlab under ``name``, with the code points it has glyphs for."""

    name: str
    path: Path
    covered: frozenset[int]

    def check(self, texts: Iterable[str]) -> None:
        """Raise :class:`FontMissing` naming every character of ``texts`` the font cannot draw."""
        missing = sorted({ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in self.covered})
        if missing:
            shown = "".join(missing[:20]) + ("…" if len(missing) > 20 else "")
            raise FontMissing(f"字体 {self.path} 缺少这些字的字形：{shown}（打印出来会是空白方框）。"
                              f"没有可用的中文字体 / the font {self.path} has no glyphs for {len(missing)} "
                              f"characters of the page: no usable CJK font. {INSTALL_HINT}")


def candidates(configured: str | None) -> list[tuple[Path, int]]:
    """The font files to try, as (path, face index): the configured one alone, else Debian's that exist."""
    if configured:
        path, _, index = configured.partition("#")
        return [(Path(path), int(index) if index.isdigit() else 0)]
    return [(p, 0) for p in DEBIAN_FONTS if p.is_file()]


def load_font(configured: str | None = None) -> CjkFont:
    """The Chinese font for printed pages (``XUNZHEN_CJK_FONT``, else Debian's); :class:`FontMissing` if none is
    there or it cannot be embedded. Loaded once per process and file."""
    found = candidates(configured)
    if not found:
        raise FontMissing(f"找不到中文字体（海报和排班表需要） / no CJK font found for printed pages. {INSTALL_HINT}")
    problems = []
    for path, index in found:
        try:
            return _load(path, index)
        except (OSError, ValueError) as e:  # _load turns reportlab's TTFError into a ValueError
            problems.append(f"{path}: {e}")
    raise FontMissing(f"中文字体无法使用 / the CJK font cannot be used ({'; '.join(problems)}). {INSTALL_HINT}")


def _load(path: Path, index: int) -> CjkFont:
    key = (str(path), index)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if not path.is_file():
            raise OSError("no such file")
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFError, TTFont

        name = "XZ-" + hashlib.sha256(f"{path}#{index}".encode()).hexdigest()[:10]
        try:
            ttf = TTFont(name, str(path), subfontIndex=index)
        except TTFError as e:  # CFF outlines, a broken file, a face index past the collection's end
            raise ValueError(str(e)) from None
        pdfmetrics.registerFont(ttf)
        font = CjkFont(name, path, frozenset(ttf.face.charToGlyph))
        _loaded[key] = font
        return font
