"""Benchmark the first-diagnosis catalogue matcher (issue 20): complaints/s against the 80-disease starting list, and
which of the specialty benchmark's village complaints the list would keep at the township, as JSON.

Run: python bench/catalogue.py. Single-threaded, one complaint per call (the way filing an order calls it).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.nlp import SHORT  # noqa: E402  (the same village complaints as the specialty matcher's benchmark)
from domain.catalogue import CatalogueEntry  # noqa: E402
from nlp.catalogue import shipped_lexicon, shipped_matcher  # noqa: E402


def main() -> None:
    """Print the figures as one JSON object."""
    started = time.perf_counter()
    matcher = shipped_matcher()
    entries = [CatalogueEntry("TC", d.name, d.icd10, date(2026, 1, 1)) for d in shipped_lexicon()]
    matcher.match(SHORT[0], entries)  # the first call normalises every entry's words once
    load_ms = 1000 * (time.perf_counter() - started)
    rates = []
    for _ in range(5):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.4:
            for text in SHORT:
                matcher.match(text, entries)
            n += len(SHORT)
        rates.append(n / (time.perf_counter() - t0))
    kept = {text: [m.label for m in matcher.match(text, entries)] for text in SHORT}
    print(json.dumps({
        "entries": len(entries),
        "load_ms": round(load_ms, 1),
        "complaints_per_s": round(statistics.median(rates)),
        "village_complaints": len(SHORT),
        "matched": sum(1 for v in kept.values() if v),
        "matches": {k: v for k, v in kept.items() if v},
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
