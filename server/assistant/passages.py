"""Paragraph-sized passages of a chunk, embedded next to it to score answers inside sections."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .chunking import Chunk, markdown_to_plain

_BLANK_LINE = re.compile(r"\n\s*\n")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A passage shorter than this many words is too small to carry an answer on its own (a lone
# label, "Note:", a one-word list item); it stays in its chunk's vector only.
MIN_PASSAGE_WORDS = 3


def paragraphs(markdown: str) -> list[str]:
    """The paragraphs and list items of a chunk body, headings left out (they are in the
    context prefix), each with its markup removed."""
    found = []
    for block in _BLANK_LINE.split(markdown):
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        items: list[str] = []
        for line in lines:
            if _LIST_ITEM.match(line) or not items:
                items.append(line)
            else:
                items[-1] += " " + line.strip()
        found += [markdown_to_plain(item) for item in items]
    return [p for p in found if len(p.split()) >= MIN_PASSAGE_WORDS]


def passage_texts(chunk: Chunk) -> list[str]:
    """What is embedded for a chunk besides its own text: its heading path alone, then each
    paragraph under that path. The first is always there; a chunk of one paragraph adds it."""
    return [chunk.context, *(f"{chunk.context}: {p}" for p in paragraphs(chunk.text))]


# A chunk's score mixes its own cosine with its best paragraph's and its heading path's
# (docs/retrieval.md, "Passages": the best of a grid measured on all four evaluation sets).
CHUNK_WEIGHT = 0.4
PASSAGE_WEIGHT = 0.5
HEADING_WEIGHT = 0.1


def mixed_cosine(chunk: float, heading: float, paragraph: float) -> float:
    return CHUNK_WEIGHT * chunk + HEADING_WEIGHT * heading + PASSAGE_WEIGHT * paragraph


class PassageIndex:
    """Every chunk's passage vectors in one matrix, to score a question against all of them
    with one product (1,000 articles: about 20,000 rows, 30 MB, a few milliseconds)."""

    def __init__(self, chunks: Iterable[tuple[int, bytes | None]], dimensions: int) -> None:
        ids, starts, blocks = [], [], []
        rows = 0
        for chunk_id, data in chunks:
            if not data:
                continue  # embedded before passages existed: scored by its own vector
            matrix = np.frombuffer(data, dtype="<f4").reshape(-1, dimensions)
            ids.append(chunk_id)
            starts.append(rows)
            blocks.append(matrix)
            rows += len(matrix)
        self._ids = ids
        self._positions = {chunk_id: row for row, chunk_id in enumerate(ids)}
        self._starts = np.asarray(starts, dtype=np.int64)
        self._sizes = np.diff(np.append(self._starts, rows))
        self._matrix = (
            np.concatenate(blocks).astype(np.float32)
            if blocks
            else np.zeros((0, dimensions), dtype=np.float32)
        )

    def __len__(self) -> int:
        return len(self._ids)

    def cosines(self, query: NDArray[np.float32]) -> PassageScores:
        """The heading and best paragraph cosines of every chunk for `query`, a unit vector
        or a mean of unit vectors."""
        if not self._ids:
            empty = np.zeros(0, dtype=np.float32)
            return PassageScores(self._ids, self._positions, empty, empty)
        scores = self._matrix @ query
        heading = scores[self._starts]
        paragraphs = np.where(self._sizes > 1, _best_after_first(scores, self._starts), heading)
        return PassageScores(self._ids, self._positions, heading, paragraphs)


@dataclass(frozen=True, slots=True)
class PassageScores:
    """One question's scores; a chunk with no paragraph of its own has its heading's."""

    ids: list[int]  # the chunk of each row
    positions: dict[int, int]  # chunk id -> row
    heading: NDArray[np.float32]
    paragraph: NDArray[np.float32]

    def get(self, chunk_id: int) -> tuple[float, float] | None:
        """(heading cosine, best paragraph cosine); None for a chunk without passages."""
        row = self.positions.get(chunk_id)
        if row is None:
            return None
        return float(self.heading[row]), float(self.paragraph[row])

    def best(self, limit: int) -> list[int]:
        """The chunks whose passages alone score highest."""
        if not len(self.heading) or limit <= 0:
            return []
        mixed = HEADING_WEIGHT * self.heading + PASSAGE_WEIGHT * self.paragraph
        if len(mixed) > limit:
            part = np.argpartition(-mixed, limit)[:limit]
        else:
            part = np.arange(len(mixed))
        return [self.ids[int(i)] for i in part[np.argsort(-mixed[part])]]


def _best_after_first(
    scores: NDArray[np.float32], starts: NDArray[np.int64]
) -> NDArray[np.float32]:
    """Per block, the maximum of its rows after the first (the heading row)."""
    masked = scores.copy()
    masked[starts] = -np.inf
    result: NDArray[np.float32] = np.maximum.reduceat(masked, starts)
    return result
