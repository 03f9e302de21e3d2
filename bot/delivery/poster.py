"""Printed pages for a notice board (issue 19): a handler's sheet laid out on A4, as PDF or PNG.

One layout serves both formats. reportlab draws the page as a PDF: text stays text in an embedded Chinese font
(``bot.delivery.fonts``), so it prints sharp, can be searched and read back; the QR code is drawn as vector squares
from segno's matrix, sharp at any size. The PNG is that PDF rasterised by pdfium (pypdfium2, the engine of
Chrome's PDF viewer) at 150 dpi: what a chat shows as a picture is exactly what the printer gets.

The QR code is the village's subscription (:class:`domain.posters.SubscribeCode`): the Official Account's
permanent parametric code for the scene where an account makes them (``issue``, :meth:`MpDeliverer.qr_url`, kept
in ``wechat_qr``), else the Telegram bot's deep link the sheet carries. A page never goes out with a box for a
missing glyph: the font is checked against every character first (:class:`bot.delivery.fonts.FontMissing`).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from bot.delivery.fonts import CjkFont, load_font
from domain.posters import CircuitPoster, Sheet, SubscribeCode, WeekSchedule

log = logging.getLogger(__name__)

PAGE_W, PAGE_H = 595.2756, 841.8898  # A4 in points
MARGIN = 40.0
PNG_DPI = 150  # 1240 x 1754 pixels: sharp on paper, small enough for a chat (WeCom images: 2 MB)
QR_SIZE = 150.0  # points, quiet zone included: about 5 cm, read from a metre away
QR_BORDER = 4  # modules of quiet zone, as the QR standard asks
BAND = 112.0  # the coloured band at the top
FOOTER = 22.0
ACCENT = (0.65, 0.11, 0.11)  # a notice's red; prints as dark grey in black and white
INK = (0.08, 0.08, 0.08)
GREY = (0.38, 0.38, 0.38)
TINT = (0.98, 0.93, 0.90)
WHITE = (1.0, 1.0, 1.0)
SCALES = (1.3, 1.2, 1.1, 1.0, 0.92, 0.85, 0.78, 0.7, 0.62, 0.55)  # larger to fill the page; smaller before cutting
NO_LINE_START = set("，。、；：？！）》」』”’.,;:?!)%")
# A Latin word, number or command ("/start v_350421101001", a phone number) is never broken; spaces; one character.
_WORD = r"[/A-Za-z0-9][A-Za-z0-9_./:@?=&%+#-]*"
_TOKEN = re.compile(rf"{_WORD}(?: {_WORD})*|\s+|.", re.S)


class PosterFailed(RuntimeError):
    """A page could not be made (no QR code could be had for it); the message says why."""


# ---------------------------------------------------------------------------------------------- text


def wrap(font: CjkFont, text: str, size: float, width: float) -> list[str]:
    """``text`` in lines no wider than ``width``: Chinese breaks between any two characters, a Latin word or number
    (a phone number, a command) stays whole, and no line starts with closing punctuation."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    def w(s: str) -> float:
        return stringWidth(s, font.name, size)

    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for token in _TOKEN.findall(paragraph):
            if w(current + token) <= width or not current.strip():
                current += token
                while w(current) > width and len(current) > 1:  # one token wider than the line: cut it
                    cut = max(i for i in range(1, len(current)) if w(current[:i]) <= width or i == 1)
                    lines.append(current[:cut])
                    current = current[cut:]
                continue
            if token[0] in NO_LINE_START:  # keep it on this line, a little over the edge
                current += token
                continue
            lines.append(current.rstrip())
            current = token.lstrip()
        lines.append(current.rstrip())
    return [line for line in lines if line] or [""]


@dataclass
class Para:
    """A paragraph of the page: its text and how it is set."""

    text: str
    size: float
    bold: bool = False
    color: tuple[float, float, float] = INK
    indent: float = 0.0
    before: float = 0.0  # space above, in points
    center: bool = False
    tint: bool = False  # on a tinted panel
    optional: bool = False  # left out first when the page is too full
    lines: list[str] = field(default_factory=list)

    @property
    def leading(self) -> float:
        """Distance between baselines."""
        return self.size * 1.38

    def height(self) -> float:
        """Height of the set paragraph with its space above (and the panel's padding)."""
        return self.before + len(self.lines) * self.leading + (12 if self.tint else 0)


def set_paras(font: CjkFont, paras: Sequence[Para], width: float, scale: float) -> list[Para]:
    """The paragraphs at ``scale``, wrapped to ``width``."""
    out = []
    for p in paras:
        q = replace(p, size=p.size * scale, before=p.before * scale)
        q.lines = wrap(font, p.text, q.size, width - p.indent - (16 if p.tint else 0))
        out.append(q)
    return out


def fit(font: CjkFont, paras: Sequence[Para], width: float, room: float) -> list[Para]:
    """The paragraphs at the largest scale that fits ``room`` points; then without the optional ones; at the
    smallest scale, what fits."""
    for keep_optional in (True, False):
        kept = [p for p in paras if keep_optional or not p.optional]
        for scale in SCALES:
            done = set_paras(font, kept, width, scale)
            if sum(p.height() for p in done) <= room:
                return done
    done, used, out = set_paras(font, kept, width, SCALES[-1]), 0.0, []
    for p in done:
        if used + p.height() > room:
            break
        used += p.height()
        out.append(p)
    return out


class Canvas:
    """reportlab's canvas with the few strokes a page needs, in the page's font."""

    def __init__(self, font: CjkFont, title: str):
        from reportlab.pdfgen.canvas import Canvas as RlCanvas

        self.font = font
        self.buffer = io.BytesIO()
        self.c = RlCanvas(self.buffer, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
        self.c.setTitle(title)
        self.c.setAuthor("巡诊 Xunzhen")

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             color: tuple[float, float, float] = INK, center: bool = False, width: float = 0.0) -> None:
        """One line at baseline ``y``; ``center`` in ``width`` from ``x``. Bold is the glyph drawn with an outline of
        its own colour (the font has one weight)."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        if center:
            x += (width - stringWidth(text, self.font.name, size)) / 2
        c = self.c
        c.saveState()
        tx = c.beginText(x, y)
        tx.setFont(self.font.name, size)
        tx.setFillColorRGB(*color)
        if bold:
            c.setStrokeColorRGB(*color)
            c.setLineWidth(size * 0.035)
            tx.setTextRenderMode(2)
        tx.textOut(text)
        c.drawText(tx)
        c.restoreState()

    def rect(self, x: float, y: float, w: float, h: float, color: tuple[float, float, float]) -> None:
        """A filled rectangle (``y`` its bottom)."""
        self.c.setFillColorRGB(*color)
        self.c.rect(x, y, w, h, stroke=0, fill=1)

    def rule(self, x: float, y: float, w: float, color: tuple[float, float, float] = GREY) -> None:
        """A thin horizontal line."""
        self.c.setStrokeColorRGB(*color)
        self.c.setLineWidth(0.6)
        self.c.line(x, y, x + w, y)

    def paras(self, x: float, top: float, width: float, paras: Iterable[Para]) -> float:
        """Draw set paragraphs from ``top`` down; returns where they end."""
        y = top
        for p in paras:
            y -= p.before
            if p.tint:
                self.rect(x, y - p.height() + p.before, width, p.height() - p.before, TINT)
                y -= 6
            for line in p.lines:
                y -= p.leading
                pad = 8 if p.tint else 0
                self.text(x + p.indent + pad, y + p.leading - p.size * 1.08, line, p.size, bold=p.bold, color=p.color,
                          center=p.center, width=width - 2 * pad)
            if p.tint:
                y -= 6
        return y

    def qr(self, x: float, y: float, size: float, content: str) -> None:
        """A QR code of ``content`` as vector squares, its quiet zone included, bottom-left at (x, y)."""
        import segno

        code = segno.make(content, error="m", micro=False)
        matrix = code.matrix
        n = len(matrix) + 2 * QR_BORDER
        module = size / n
        self.rect(x, y, size, size, WHITE)
        self.c.setFillColorRGB(0, 0, 0)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):  # one rectangle per run of dark modules: a smaller, faster page
                if not row[c] & 1:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c] & 1:
                    c += 1
                top = y + size - (QR_BORDER + r) * module
                # A hair wider than a module, so neighbouring squares leave no seam when rasterised.
                self.c.rect(x + (QR_BORDER + start) * module, top - module - 0.02, (c - start) * module + 0.02,
                            module + 0.04, stroke=0, fill=1)

    def finish(self) -> bytes:
        """The PDF."""
        self.c.showPage()
        self.c.save()
        return self.buffer.getvalue()


# ---------------------------------------------------------------------------------------------- the pages


def _band(cv: Canvas, title: str, subtitle: str = "") -> None:
    cv.rect(0, PAGE_H - BAND, PAGE_W, BAND, ACCENT)
    size = 56 if not subtitle else 36
    while size > 20 and _width(cv.font, title, size) > PAGE_W - 2 * MARGIN:
        size -= 2
    cv.text(0, PAGE_H - (78 if not subtitle else 58), title, size, bold=True, color=WHITE, center=True, width=PAGE_W)
    if subtitle:
        cv.text(0, PAGE_H - 92, subtitle, 16, color=WHITE, center=True, width=PAGE_W)


def _width(font: CjkFont, text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font.name, size)


def _subscribe(cv: Canvas, code: SubscribeCode, link: str | None, footer: str, qr_size: float = QR_SIZE) -> float:
    """The QR code with what it is for, above the footer; returns the top of the block."""
    cv.text(0, MARGIN - 14, footer, 8.5, color=GREY, center=True, width=PAGE_W)
    bottom = MARGIN + FOOTER - 14
    top = bottom + qr_size
    text_width = PAGE_W - 2 * MARGIN - (qr_size + 18 if link else 0)
    if link:
        cv.qr(PAGE_W - MARGIN - qr_size, bottom, qr_size, link)
    label = set_paras(cv.font, [Para(code.label, 19, bold=True, color=ACCENT),
                                Para(code.typed, 11.5, color=GREY, before=8)], text_width, 1.0)
    height = sum(p.height() for p in label)
    cv.paras(MARGIN, bottom + (qr_size + height) / 2, text_width, label)
    cv.rule(MARGIN, top + 10, PAGE_W - 2 * MARGIN)
    return top + 10


def poster_pdf(font: CjkFont, sheet: CircuitPoster, link: str | None) -> bytes:
    """The circuit's poster: the band, the facts large, the experts, what to bring, whom to phone, the QR code."""
    cv = Canvas(font, sheet.title + " " + sheet.when)
    width = PAGE_W - 2 * MARGIN
    _band(cv, sheet.title)
    paras = [Para(sheet.headline, 22, bold=True, color=ACCENT, center=True),
             Para(sheet.when, 27, bold=True, before=18),
             Para(sheet.place, 23, bold=True, before=4),
             Para(sheet.hospital, 17, before=4)]
    for i, e in enumerate(sheet.experts):
        paras.append(Para(e.line, 17, bold=True, before=14 if i == 0 else 6))
        if e.profile:
            paras.append(Para(e.profile, 12.5, color=GREY, indent=34, before=2, optional=True))
    if sheet.conditions:
        paras.append(Para(sheet.conditions, 14.5, before=10))
    paras.append(Para(sheet.bring, 15.5, bold=True, before=14, tint=True))
    if sheet.contact:
        paras.append(Para(sheet.contact, 17, bold=True, before=12))
    top = PAGE_H - BAND - 26
    bottom = _subscribe(cv, sheet.code, link, sheet.footer) + 12
    cv.paras(MARGIN, top, width, fit(font, paras, width, top - bottom))
    return cv.finish()


COLUMNS = (150.0, 100.0, 175.0, 90.2)  # 时间、地点、专家、派出医院: the width between the margins
WEEK_QR = 120.0  # points: a little smaller than a poster's, to leave the table room (still about 4 cm)


def _pad(size: float) -> float:
    return size * 0.38  # a cell's padding grows and shrinks with its text


def _cells(font: CjkFont, texts: Sequence[str], size: float) -> list[list[str]]:
    return [wrap(font, text, size, w - 2 * _pad(size)) for text, w in zip(texts, COLUMNS, strict=True)]


def week_pdf(font: CjkFont, sheet: WeekSchedule, link: str | None) -> bytes:
    """A township's week: the band with the period, a table of the circuits, what to bring, the QR code."""
    cv = Canvas(font, sheet.title + " " + sheet.period)
    width = PAGE_W - 2 * MARGIN
    _band(cv, sheet.title, sheet.period)
    top = PAGE_H - BAND - 22
    bottom = _subscribe(cv, sheet.code, link, sheet.footer, WEEK_QR) + 10
    tail = [Para(sheet.bring, 13, bold=True, before=12, tint=True)]
    if sheet.contact:
        tail.append(Para(sheet.contact, 14, bold=True, before=8))
    tail = set_paras(font, tail, width, 1.0)
    room = top - bottom - sum(p.height() for p in tail)
    if not sheet.rows:
        y = cv.paras(MARGIN, top, width, set_paras(font, [Para(sheet.empty, 22, bold=True, center=True, before=30)],
                                                 width, 1.0))
        cv.paras(MARGIN, y, width, tail)
        return cv.finish()
    rows = list(sheet.rows)
    for size in (13.0, 12.0, 11.0, 10.0, 9.0, 8.0):
        head = _cells(font, sheet.columns, size)
        body = [_cells(font, (r.when, r.place, r.experts, r.hospital), size) for r in rows]
        heights = [max(len(c) for c in cells) * size * 1.25 + 2 * _pad(size) for cells in [head, *body]]
        if sum(heights) <= room:
            break
    left_out = 0
    while sum(heights) > room and len(body) > 1:  # at the smallest size: cut, and say so (a line for that)
        if not left_out:
            room -= size * 2
        body.pop()
        heights.pop()
        left_out += 1
    y = top
    for i, (cells, h) in enumerate(zip([head, *body], heights, strict=True)):
        if i == 0:
            cv.rect(MARGIN, y - h, width, h, ACCENT)
        elif i % 2 == 0:
            cv.rect(MARGIN, y - h, width, h, TINT)
        x = MARGIN
        for lines, w in zip(cells, COLUMNS, strict=True):
            for n, line in enumerate(lines):
                cv.text(x + _pad(size), y - _pad(size) - size * (0.95 + 1.25 * n), line, size, bold=i == 0,
                        color=WHITE if i == 0 else INK)
            x += w
        y -= h
    cv.rule(MARGIN, y, width)
    if left_out:
        y = cv.paras(MARGIN, y, width, set_paras(font, [Para(sheet.more.format(count=left_out), size, before=4)],
                                                 width, 1.0))
    cv.paras(MARGIN, y, width, tail)
    return cv.finish()


def texts_of(sheet: Sheet) -> list[str]:
    """Every text a page of ``sheet`` prints (checked against the font before anything is drawn)."""
    common = [sheet.title, sheet.bring, sheet.contact, sheet.code.label, sheet.code.typed, sheet.footer]
    if isinstance(sheet, CircuitPoster):
        return [*common, sheet.headline, sheet.when, sheet.place, sheet.hospital, sheet.conditions,
                *(e.line for e in sheet.experts), *(e.profile for e in sheet.experts)]
    return [*common, sheet.period, sheet.empty, sheet.more, *sheet.columns,
            *(text for r in sheet.rows for text in (r.when, r.place, r.experts, r.hospital))]


def to_png(pdf: bytes, dpi: int = PNG_DPI) -> bytes:
    """The first page of ``pdf`` as a PNG at ``dpi``, drawn by pdfium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- the service


@dataclass(frozen=True, slots=True)
class Printed:
    """A rendered page: the file's bytes and what its QR code holds (None: the page has none)."""

    data: bytes
    link: str | None


class Posters:
    """Renders a sheet as PDF or PNG, with its QR code resolved.

    Args:
        font: ``XUNZHEN_CJK_FONT`` (None: Debian's; loaded at the first page, so a service without the font runs
            and only its pages fail, loudly).
        issue: ``issue(scene, None)`` gives the Official Account's permanent QR code URL for a scene (it may block
            on HTTP); None when no account makes QR codes.
    """

    def __init__(self, font: str | None = None, issue: Callable[[str, int | None], str] | None = None):
        self.font_setting = font
        self.issue = issue

    def link(self, code: SubscribeCode) -> str | None:
        """What the QR code holds: the Official Account's code, else the Telegram deep link, else None."""
        if self.issue is not None:
            try:
                return self.issue(code.scene, None)
            except Exception as e:
                if code.telegram is None:
                    raise PosterFailed(f"公众号没有给出二维码 / the Official Account made no QR code: "
                                       f"{getattr(e, 'errcode', e)}") from e
                log.warning("no QR code from the Official Account (%s): the poster has the Telegram link",
                            getattr(e, "errcode", e))
        return code.telegram

    def pdf(self, sheet: Sheet) -> Printed:
        """The page as a PDF (in a worker thread: the account's API and the layout take a moment)."""
        font = load_font(self.font_setting)
        font.check(texts_of(sheet))
        link = self.link(sheet.code)
        draw = poster_pdf if isinstance(sheet, CircuitPoster) else week_pdf
        return Printed(draw(font, sheet, link), link)  # type: ignore[arg-type]

    def png(self, sheet: Sheet) -> Printed:
        """The page as a PNG: the PDF, rasterised."""
        page = self.pdf(sheet)
        return Printed(to_png(page.data), page.link)

    def render(self, sheet: Sheet, kind: str) -> Printed:
        """``kind`` "pdf" or "png"."""
        return self.png(sheet) if kind == "png" else self.pdf(sheet)
