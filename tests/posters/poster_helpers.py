"""Reading a printed page back as a person (and a phone) would: its text, its QR code, its glyphs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from bot.delivery.fonts import candidates
from domain.circuits import Circuit, HalfDay
from tests.circuits.circuit_helpers import make_circuit, scheduled_order
from tests.conftest import FIXED_NOW, IN_CI

# Without a Chinese font the pages cannot be made: locally those tests skip and say why; under CI=true they run and
# fail with the poster's own message (`make test` installs fonts-wqy-zenhei there, `make fonts`).
needs_font = pytest.mark.skipif(not candidates(None) and not IN_CI,
                                reason="no Chinese TrueType font: apt-get install fonts-wqy-zenhei (make fonts)")

A4 = (595.3, 841.9)  # points
VILLAGE, OTHER_VILLAGE, TOWNSHIP = "350421101001", "350421101002", "350421101"  # 城东村, 渔塘村, 雪峰镇
FAR_VILLAGE = "350421102001"  # 西坑村, of another township (盖洋镇)
BOT = "xunzhen_fake_bot"


@dataclass
class Page:
    """One page of a PDF: its size in points, its text, and the page drawn at ``scale`` pixels a point."""

    size: tuple[float, float]
    text: str
    image: Image.Image
    boxes: list[tuple[str, tuple[int, int, int, int]]]  # each character with its box in the image's pixels


def read_pdf(data: bytes, scale: float = 2.0) -> list[Page]:
    """Every page of a PDF, read with pdfium (the engine of Chrome's PDF viewer)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    pages = []
    for page in pdf:
        width, height = page.get_size()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        image = page.render(scale=scale).to_pil().convert("L")
        boxes = []
        for i in range(textpage.count_chars()):
            ch = textpage.get_text_range(i, 1)
            left, bottom, right, top = textpage.get_charbox(i)
            boxes.append((ch, (int(left * scale), int((height - top) * scale), int(right * scale) + 1,
                               int((height - bottom) * scale) + 1)))
        pages.append(Page((width, height), text, image, boxes))
    return pages


def qr_texts(image: Image.Image) -> list[str]:
    """What a phone reads from the QR codes on the image."""
    return [c.text for c in zxingcpp.read_barcodes(image) if c.format == zxingcpp.BarcodeFormat.QRCode]


def png_image(data: bytes) -> Image.Image:
    """A PNG file as a greyscale image (it must be a PNG)."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data)).convert("L")


def ink(image: Image.Image) -> float:
    """The share of dark pixels."""
    histogram = image.convert("L").histogram()
    return sum(histogram[:128]) / max(1, sum(histogram))


def assert_real_glyphs(page: Page, minimum: int = 20) -> None:
    """Every CJK character of the page is drawn with ink, and different characters look different: a font without
    them would draw the same empty box (tofu) for each, or nothing."""
    seen: dict[str, bytes] = {}
    for ch, box in page.boxes:
        if not "\u4e00" <= ch <= "\u9fff" or ch in seen:
            continue
        crop = page.image.crop(box)
        assert crop.width > 2 and crop.height > 2, f"{ch} has no box"
        assert ink(crop) > 0.01, f"{ch} is drawn without ink"
        seen[ch] = crop.resize((16, 16)).point(lambda v: 255 if v > 128 else 0).tobytes()
    assert len(seen) >= minimum, f"only {len(seen)} CJK characters on the page"
    distinct = len(set(seen.values()))
    assert distinct > 0.9 * len(seen), f"{len(seen)} characters but only {distinct} different glyphs: tofu?"


def same_picture(a: Image.Image, b: Image.Image) -> bool:
    """Two renderings of one page agree (at most 1 % of pixels differ visibly)."""
    if a.size != b.size:
        b = b.resize(a.size)
    diff = ImageChops.difference(a.convert("L"), b.convert("L")).point(lambda v: 255 if v > 64 else 0)
    return sum(diff.histogram()[255:]) / (a.width * a.height) < 0.01


def seed_week(uow) -> dict[str, Circuit]:
    """雪峰镇's circuits around 2026-W49 (11-30 … 12-06), with one order on the village circuit."""
    circuits = {
        "village": make_circuit(uow, place=VILLAGE, day=date(2026, 12, 4), half=HalfDay.AM,
                                experts=("S0003", "S0004")),
        "township": make_circuit(uow, place=TOWNSHIP, day=date(2026, 12, 2), half=HalfDay.PM),
        "other": make_circuit(uow, place=OTHER_VILLAGE, day=date(2026, 12, 6), half=HalfDay.AM, experts=("S0004",)),
        "cancelled": make_circuit(uow, place=OTHER_VILLAGE, day=date(2026, 12, 3), half=HalfDay.AM),
        "next_week": make_circuit(uow, place=VILLAGE, day=date(2026, 12, 8), half=HalfDay.AM),
        "elsewhere": make_circuit(uow, place=FAR_VILLAGE, day=date(2026, 12, 4), half=HalfDay.PM),
    }
    scheduled_order(uow, circuits["village"], FIXED_NOW)
    cancelled = circuits["cancelled"].cancelled()
    uow.schedule.save_circuit(cancelled)
    circuits["cancelled"] = cancelled
    return circuits


def written(path: Path) -> bytes:
    """The file a command wrote (it must exist and not be empty)."""
    assert path.is_file() and path.stat().st_size > 0, f"{path} was not written"
    return path.read_bytes()
