"""How much a question's nearest chunk stands out of the whole knowledge base (decline signal)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

# docs/retrieval.md, "Version 4": a question the knowledge base answers has a chunk far above
# its cosines with the rest; a near-domain one ("is there a mobile app?") is about the product
# in general and near many chunks about equally. The decline score is the ranking's best
# article score plus this share of that z-score (fitted leaving one evaluation set out: the
# same weight was chosen on every fold).
SPECIFICITY_WEIGHT = 0.06
# Below this many chunks the spread of cosines says nothing (the z-score of the best of n
# cosines cannot exceed sqrt(n - 1)): a small knowledge base gets a typical answerable
# question's value, and declines as it would on the ranking's score alone.
MIN_CHUNKS = 20
NEUTRAL = 3.0
# A question naming something the knowledge base never mentions ("reset my Netflix password"
# on a help center without Netflix; unknown_names.py) loses this much of its decline score:
# enough to decline it near its neighbouring article's topic (0.5-0.95 on the evaluation
# sets), not so much that a strong match (up to 1.2) is declined. Chosen by three of the four
# leave-one-set-out folds; the fourth, whose training sets hold the one answerable question it
# declines, took 0.1 (docs/retrieval.md, "Version 6").
UNKNOWN_NAME_PENALTY = 0.5
# A z-score this high only says "clearly specific"; capped so that one outlier chunk cannot
# carry an otherwise weak match over any threshold.
CEILING = 8.0


class ChunkVectors:
    """Every chunk's own vector in one matrix (1,000 articles: about 3,000 rows, 4.6 MB)."""

    def __init__(self, vectors: Iterable[Sequence[float] | None], dimensions: int) -> None:
        rows = [v for v in vectors if v is not None and len(v) == dimensions]
        self._matrix = (
            np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, dimensions), np.float32)
        )

    def __len__(self) -> int:
        return len(self._matrix)

    def specificity(self, query: NDArray[np.float32]) -> float:
        """(best cosine - mean cosine) / standard deviation over every chunk, for `query` (any
        length: the ratio does not depend on it)."""
        if len(self._matrix) < MIN_CHUNKS:
            return NEUTRAL
        cosines = self._matrix @ query
        spread = float(cosines.std())
        if spread < 1e-6:  # every chunk alike (float32 rounding aside)
            return NEUTRAL
        z = (float(cosines.max()) - float(cosines.mean())) / spread
        return min(max(z, 0.0), CEILING)


# A question asking what something costs when none of its passages mentions money, about a
# platform none of them names, or for a claim none of them speaks of (the company, a
# certification, a phone line, a poem; answer_types.py) loses this much: the same step as an
# unknown name, for the same reason (a near-domain question with no answer-bearing evidence);
# docs/retrieval.md, "Version 7" and "Version 8".
MISSING_EVIDENCE_PENALTY = 0.5


def decision_score(
    top_score: float,
    specificity: float,
    names_unknown: bool = False,
    evidence_missing: bool = False,
) -> float:
    """What the decline threshold is compared with: one number for calibration and display."""
    penalty = UNKNOWN_NAME_PENALTY if names_unknown else 0.0
    penalty += MISSING_EVIDENCE_PENALTY if evidence_missing else 0.0
    return top_score + SPECIFICITY_WEIGHT * specificity - penalty
