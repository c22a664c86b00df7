"""The widget's size budget: the whole bundle, gzipped, as browsers download it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

BUDGET = 32 * 1024


def test_the_bundle_stays_within_its_gzipped_budget(widget_bundle: Path) -> None:
    data = widget_bundle.read_bytes()
    size = len(gzip.compress(data, compresslevel=9))
    assert size <= BUDGET, f"widget.js is {size} bytes gzipped, over the {BUDGET} byte budget"
    # The build measured it too (with Node's zlib) and fails by itself when over.
    report = json.loads((widget_bundle.parent / "size.json").read_text())
    assert report["budget_gzip_bytes"] == BUDGET
    assert report["bytes"] == len(data)
    assert report["gzip_bytes"] <= BUDGET


def test_the_bundle_is_one_self_contained_script(widget_bundle: Path) -> None:
    text = widget_bundle.read_text(encoding="utf-8")
    assert text.startswith("/* Parley chat widget")
    assert "sourceMappingURL" not in text
    assert "import(" not in text  # no chunks to fetch later
