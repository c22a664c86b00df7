"""Measure decline signals on the evaluation sets, fitting each weight leaving one set out."""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from server.assistant.answer_types import (
    PLATFORM_MATCH_BONUS,
    missing_evidence,
    platform_matches,
)
from server.assistant.calibration import (
    GENERIC_OFF_TOPIC,
    MAX_ANSWERABLE_DECLINED,
    choose_threshold,
    heading_questions,
    headings_threshold,
)
from server.assistant.embeddings import Embedder, LocalMiniLM
from server.assistant.passages import mixed_cosine
from server.assistant.retrieval_eval import (
    DECLINE_THRESHOLD,
    DEMO_KB,
    LEXICAL_WEIGHT,
    answer_passage_texts,
    embed_knowledge_base,
    load_articles,
    load_questions,
)
from server.assistant.specificity import (
    MISSING_EVIDENCE_PENALTY,
    SPECIFICITY_WEIGHT,
    UNKNOWN_NAME_PENALTY,
    ChunkVectors,
    decision_score,
)
from server.assistant.unknown_names import unknown_name, vocabulary_ranks

OTHER_SETS = Path(__file__).resolve().parents[2] / "tests" / "data" / "retrieval"
SETS = {
    "demo": DEMO_KB,
    "tmux": OTHER_SETS / "tmux",
    "sqlite_faq": OTHER_SETS / "sqlite_faq",
    "evolution": OTHER_SETS / "evolution",
}
# Mixed weights are tried as multiples of a tenth of the signal's spread over all questions,
# so one grid suits signals of any scale (docs/retrieval.md, "Version 4").
CHOSEN = "specificity (chosen)"
NAMED = "names something the knowledge base never mentions (chosen)"
PRICELESS = "asks for a claim, a price or a platform its passages never name (chosen)"
# The chosen signal is also fitted on raw weights, finer than GRID's steps.
FINE_GRID = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3)
GRID = (-1.0, -0.5, -0.3, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0)
# Version 6: the unknown-name penalty is fitted at the default threshold, and the default
# threshold itself at these shares of answerable questions declined (docs/retrieval.md).
PENALTIES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
SHARES = (0.01, 0.02, 0.03)


@dataclass(frozen=True)
class Scored:
    """One question: whether the set answers it, the ranking's best article score and the
    decline signals measured for it."""

    in_scope: bool
    top: float
    signals: dict[str, float]


@dataclass(frozen=True)
class ScoredSet:
    questions: list[Scored]
    headings: list[Scored]  # the set's titles and section headings, as calibration uses them
    generic: list[Scored]  # calibration.GENERIC_OFF_TOPIC


def _signals(
    top: float, chunk_scores: NDArray[np.float64], slugs: Sequence[str], specificity: float
) -> dict[str, float]:
    order = np.argsort(-chunk_scores)
    articles: dict[str, float] = {}
    for i in order:
        articles.setdefault(slugs[int(i)], float(chunk_scores[i]))
    best = list(articles.values())
    ranked = chunk_scores[order]
    return {
        CHOSEN: specificity,
        "gap to the second article": top - (best[1] if len(best) > 1 else 0.0),
        "top - mean of the next 10 chunks": float(ranked[0] - ranked[1:11].mean()),
        "NQC: std of the top 10 chunks": float(ranked[:10].std()),
    }


async def score_set(embedder: Embedder, kb_dir: Path) -> ScoredSet:
    """Embed a set's chunks, passages and questions; rank as retrieval does; measure."""
    articles = load_articles(kb_dir)
    kb = await embed_knowledge_base(embedder, articles)
    chunks, slugs, index = kb.chunks, kb.slugs, kb.index
    vectors, passages = kb.chunk_vectors, kb.passages
    whole = ChunkVectors(vectors.tolist(), embedder.dimensions)
    ranks = vocabulary_ranks()

    async def measure(questions: Sequence[str], in_scope: Sequence[bool]) -> list[Scored]:
        asked = np.asarray(await embedder.embed(list(questions)), dtype=np.float32)
        stripped = [index.strip_common(q) for q in questions]
        bare = np.asarray(await embedder.embed(stripped), dtype=np.float32)
        scored = []
        for text, answerable, mean in zip(questions, in_scope, 0.5 * (asked + bare), strict=True):
            found = index.evidence(text)
            inside = passages.cosines(mean)
            cosines = vectors @ mean
            named = platform_matches(text, kb.texts)
            score = np.asarray(
                [
                    mixed_cosine(float(c), float(h), float(p))
                    + LEXICAL_WEIGHT * found.get(i, 0.0)
                    + (PLATFORM_MATCH_BONUS if named[i] else 0.0)
                    for i, (c, h, p) in enumerate(
                        zip(cosines, inside.heading, inside.paragraph, strict=True)
                    )
                ]
            )
            top = float(score.max())
            signals = _signals(top, score, slugs, whole.specificity(mean))
            signals["mean cosine with all chunks"] = float(cosines.mean())
            signals["evidence of the top chunk"] = found.get(int(score.argmax()), 0.0)
            signals[NAMED] = float(unknown_name(text, index, ranks) is not None)
            shown = answer_passage_texts(score, slugs, kb.texts)
            signals[PRICELESS] = float(missing_evidence(text, shown) is not None)
            scored.append(Scored(answerable, top, signals))
        return scored

    questions = load_questions(kb_dir / "eval.tsv")
    titles = sorted({a.title for a in articles})
    headings = sorted({c.heading_path[-1] for _, c in chunks if c.heading_path})
    made = heading_questions(titles, headings)
    return ScoredSet(
        await measure([q.text for q in questions], [q.in_scope for q in questions]),
        await measure(made, [True] * len(made)),
        await measure(GENERIC_OFF_TOPIC, [False] * len(GENERIC_OFF_TOPIC)),
    )


Score = Callable[[Scored], float]


def declined_at_calibration(questions: Sequence[Scored], score: Score) -> int:
    """Out-of-scope questions declined at the threshold that keeps 97% of the answerable
    ones (what calibrating from the set's own questions picks when the two overlap)."""
    answerable = sorted(score(q) for q in questions if q.in_scope)
    threshold = answerable[math.floor(MAX_ANSWERABLE_DECLINED * len(answerable))]
    return sum(score(q) < threshold for q in questions if not q.in_scope)


def mixed(signal: str, weight: float) -> Score:
    """The ranking's score plus `weight` times the signal; the signal alone (or negated)
    for an infinite weight."""
    if math.isinf(weight):
        return lambda q: math.copysign(1.0, weight) * q.signals[signal]
    return lambda q: q.top + weight * q.signals[signal]


def leave_one_set_out(
    sets: Mapping[str, Sequence[Scored]], signal: str, weights: Sequence[float]
) -> dict[str, tuple[float, int]]:
    """Per held-out set: the weight that declines the most out-of-scope questions on the other
    sets (ties: the best worst set), and what it declines on the held-out one."""
    result = {}
    for held in sets:
        train = [name for name in sets if name != held]

        def merit(weight: float, train: list[str] = train) -> tuple[int, float]:
            counts = [declined_at_calibration(sets[n], mixed(signal, weight)) for n in train]
            shares = [
                c / sum(not q.in_scope for q in sets[n]) for c, n in zip(counts, train, strict=True)
            ]
            return sum(counts), min(shares)

        weight = max(weights, key=merit)
        result[held] = (weight, declined_at_calibration(sets[held], mixed(signal, weight)))
    return result


def format_tables(scored: Mapping[str, ScoredSet]) -> str:
    sets = {name: s.questions for name, s in scored.items()}
    names = list(sets)
    lines = [
        "| signal | alone | mixed, held-out set | weight per fold |",
        "| --- | --- | --- | --- |",
        "| none: the ranking's score | "
        + " / ".join(str(declined_at_calibration(sets[n], lambda q: q.top)) for n in names)
        + " | | |",
    ]
    for signal in next(iter(sets.values()))[0].signals:
        values = [q.signals[signal] for qs in sets.values() for q in qs]
        spread = float(np.std(values)) or 1.0
        alone = [declined_at_calibration(sets[n], mixed(signal, math.inf)) for n in names]
        negated = [declined_at_calibration(sets[n], mixed(signal, -math.inf)) for n in names]
        sign = "" if sum(alone) >= sum(negated) else " (negated)"
        alone = max(alone, negated, key=sum)
        grids = [("", [w * 0.1 / spread for w in GRID])]
        if signal == CHOSEN:
            grids.append((", fine grid", list(FINE_GRID)))
        for label, weights in grids:
            folds = leave_one_set_out(sets, signal, weights)
            held = [folds[n][1] for n in names]
            lines.append(
                f"| {signal}{label} | {' / '.join(map(str, alone))}{sign} | "
                f"{' / '.join(map(str, held))} = {sum(held)} | "
                f"{', '.join(f'{folds[n][0]:+.3f}' for n in names)} |"
            )
    lines += ["", "Chosen score, answerable declined / out of scope declined:", ""]
    lines += [
        "| set | zero config | own questions | headings + generic |",
        "| --- | --- | --- | --- |",
    ]
    for name, found in scored.items():
        lines.append(_calibration_row(name, found))
    lines += ["", "Held out, answerable / out of scope declined (penalty or threshold per fold):"]
    lines += ["", f"| rule | {' | '.join(names)} | all | per fold |"]
    lines += ["| --- " * (len(names) + 3) + "|"]
    lines += version6_rows(sets)
    lines += version7_rows(sets)
    return "\n".join(lines)


def _calibration_row(name: str, found: ScoredSet) -> str:
    def score(q: Scored) -> float:
        return decision_score(
            q.top, q.signals[CHOSEN], q.signals[NAMED] > 0, q.signals[PRICELESS] > 0
        )

    answerable = [score(q) for q in found.questions if q.in_scope]
    off = [score(q) for q in found.questions if not q.in_scope]
    generic = [score(q) for q in found.generic]
    own = choose_threshold(answerable, off + generic)
    headings = headings_threshold([score(q) for q in found.headings], generic, DECLINE_THRESHOLD)

    def cell(threshold: float) -> str:
        declined = sum(s < threshold for s in answerable), sum(s < threshold for s in off)
        return f"{threshold:.3f}: {declined[0]} / {len(answerable)}, {declined[1]} / {len(off)}"

    return f"| {name} | {cell(DECLINE_THRESHOLD)} | {cell(own)} | {cell(headings)} |"


def scored_with(penalty: float) -> Score:
    """The decline score with `penalty` for a question that names something unknown."""
    return lambda q: q.top + SPECIFICITY_WEIGHT * q.signals[CHOSEN] - penalty * q.signals[NAMED]


def declines(questions: Sequence[Scored], score: Score, threshold: float) -> tuple[int, int]:
    """(answerable, out of scope) questions whose score is below `threshold`."""
    below = [q for q in questions if score(q) < threshold]
    return sum(q.in_scope for q in below), sum(not q.in_scope for q in below)


def fitted_threshold(train: Sequence[Sequence[Scored]], score: Score, share: float) -> float:
    """The highest threshold that declines at most `share` of the pooled answerable questions
    and at most MAX_ANSWERABLE_DECLINED of any one set's."""
    answerable = sorted(score(q) for qs in train for q in qs if q.in_scope)
    best = answerable[0]
    for threshold in (a + 1e-6 for a in answerable):
        counted = [(declines(qs, score, threshold)[0], sum(q.in_scope for q in qs)) for qs in train]
        pooled = sum(c for c, _ in counted)
        if pooled > math.floor(share * len(answerable)):
            break
        if all(c <= MAX_ANSWERABLE_DECLINED * n for c, n in counted):
            best = threshold
    return best


Fold = tuple[float, tuple[int, int]]  # (the penalty or threshold chosen, held-out declines)
Candidate = tuple[float, Score]  # (penalty, the decline score with it)


def _threshold(train: Sequence[Sequence[Scored]], score: Score, share: float | None) -> float:
    return DECLINE_THRESHOLD if share is None else fitted_threshold(train, score, share)


def _merit(
    train: Sequence[Sequence[Scored]], share: float | None, candidate: Candidate
) -> tuple[bool, int, int, float]:
    """No training set with more than MAX_ANSWERABLE_DECLINED of its answerable questions
    declined; then most out-of-scope questions declined, fewest answerable ones, the smallest
    penalty."""
    penalty, score = candidate
    threshold = _threshold(train, score, share)
    counted = [declines(qs, score, threshold) for qs in train]
    allowed = all(
        a <= MAX_ANSWERABLE_DECLINED * sum(q.in_scope for q in qs)
        for (a, _), qs in zip(counted, train, strict=True)
    )
    return allowed, sum(o for _, o in counted), -sum(a for a, _ in counted), -penalty


def held_out(
    sets: Mapping[str, Sequence[Scored]], candidates: Sequence[Candidate], share: float | None
) -> list[Fold]:
    """Per held-out set: the candidate (and threshold, at `share` of answerable questions
    declined, or the default) chosen on the other three, and what it declines there."""
    folds = []
    for held in sets:
        train = [qs for name, qs in sets.items() if name != held]
        penalty, score = max(candidates, key=partial(_merit, train, share))
        threshold = _threshold(train, score, share)
        folds.append(
            (penalty if share is None else threshold, declines(sets[held], score, threshold))
        )
    return folds


def version6_rows(sets: Mapping[str, Sequence[Scored]]) -> list[str]:
    """docs/retrieval.md's "Version 6" rows: per held-out set, answerable / out-of-scope
    questions declined, and what each fold chose."""
    fitted = [(p, scored_with(p)) for p in PENALTIES]
    adopted = [(UNKNOWN_NAME_PENALTY, scored_with(UNKNOWN_NAME_PENALTY))]
    rows = [("threshold 0.50, penalty fitted", held_out(sets, fitted, None))]
    for share in SHARES:
        rows.append(
            (
                f"v4 score, threshold at <= {share:.0%}",
                held_out(sets, [(0.0, scored_with(0.0))], share),
            )
        )
        rows.append(
            (
                f"penalty {UNKNOWN_NAME_PENALTY}, threshold at <= {share:.0%}",
                held_out(sets, adopted, share),
            )
        )
    return _fold_lines(sets, rows)


def _fold_lines(
    sets: Mapping[str, Sequence[Scored]], rows: Sequence[tuple[str, Sequence[Fold]]]
) -> list[str]:
    lines = []
    for label, folds in rows:
        cells = []
        for qs, (_, (a, o)) in zip(sets.values(), folds, strict=True):
            answerable = sum(q.in_scope for q in qs)
            cells.append(f"{a} / {answerable}, {o} / {len(qs) - answerable}")
        total = f"{sum(a for _, (a, _) in folds)} / {sum(o for _, (_, o) in folds)}"
        chosen = ", ".join(f"{value:.3f}" for value, _ in folds)
        lines.append(f"| {label} | {' | '.join(cells)} | {total} | {chosen} |")
    return lines


def priced_with(penalty: float) -> Score:
    """The version 6 score with `penalty` for a question whose passages lack the evidence it
    needs: a claim, a price or a platform (answer_types.missing_evidence)."""
    named = scored_with(UNKNOWN_NAME_PENALTY)
    return lambda q: named(q) - penalty * q.signals[PRICELESS]


def version7_rows(sets: Mapping[str, Sequence[Scored]]) -> list[str]:
    """docs/retrieval.md's "Version 7" and "Version 8" rows: the missing-evidence penalty
    fitted leaving one set out at the default threshold, then the adopted one on every set."""
    fitted = [(p, priced_with(p)) for p in PENALTIES]
    rows = [
        ("missing-evidence penalty fitted", held_out(sets, fitted, None)),
        (
            f"missing-evidence penalty {MISSING_EVIDENCE_PENALTY}, all sets",
            [
                (
                    MISSING_EVIDENCE_PENALTY,
                    declines(qs, priced_with(MISSING_EVIDENCE_PENALTY), DECLINE_THRESHOLD),
                )
                for qs in sets.values()
            ],
        ),
    ]
    return _fold_lines(sets, rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    embedder = LocalMiniLM()
    try:
        scored = asyncio.run(_score_all(embedder))
    finally:
        embedder.close()
    print(format_tables(scored))


async def _score_all(embedder: Embedder) -> dict[str, ScoredSet]:
    return {name: await score_set(embedder, path) for name, path in SETS.items()}


if __name__ == "__main__":
    main()
