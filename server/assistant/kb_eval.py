"""Retrieval quality through the real database path: recall and declines on a labelled file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.knowledge import SLUG
from ..store import knowledge as store
from .retrieval_eval import NONE_LABEL, EvalQuestion

if TYPE_CHECKING:
    from ..assistant_runtime.service import Assistant

FORMAT = f"question<TAB>slug[,slug...] or question<TAB>{NONE_LABEL}"


class EvalFileError(ValueError):
    """The evaluation file cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One question: the top article, its score and what the assistant would do."""

    question: str
    top_slug: str | None
    score: float  # the decline score, compared with the threshold
    declined: bool
    verdict: str  # hit@1, hit@3, miss, declined (answerable); declined or answered (out of scope)


@dataclass(frozen=True, slots=True)
class EvalSummary:
    model: str
    threshold: float
    articles: int
    questions: int
    answerable: int
    out_of_scope: int
    hits_at_1: int
    hits_at_3: int
    none_declined: int
    answerable_declined: int
    calibrated: bool = False
    warnings: list[str] = field(default_factory=list)
    rows: list[EvalRow] = field(default_factory=list)

    @property
    def recall_at_1(self) -> float:
        return self.hits_at_1 / max(self.answerable, 1)

    @property
    def recall_at_3(self) -> float:
        return self.hits_at_3 / max(self.answerable, 1)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("warnings")
        data.pop("rows")
        data["recall_at_1"] = round(self.recall_at_1, 4)
        data["recall_at_3"] = round(self.recall_at_3, 4)
        return data


def parse_eval_file(path: Path) -> list[EvalQuestion]:
    """Lines `question<TAB>slug[,slug...]` or `question<TAB>NONE`; blank lines and lines
    starting with # are skipped. Anything else is an error naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read: {exc}") from exc
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        questions.append(_parse_line(line, f"{path}:{number}"))
    if not questions:
        raise EvalFileError(f"{path}: no questions (expected lines like {FORMAT})")
    return questions


def _parse_line(line: str, where: str) -> EvalQuestion:
    parts = line.split("\t")
    if len(parts) != 2:
        raise EvalFileError(
            f"{where}: expected {FORMAT}, found {len(parts) - 1} tab(s) in {line[:60]!r}"
        )
    question, labels = parts[0].strip(), parts[1].strip()
    if not question:
        raise EvalFileError(f"{where}: the question is empty")
    if labels == NONE_LABEL:
        return EvalQuestion(question, frozenset())
    slugs = [s.strip() for s in labels.split(",")]
    bad = [s for s in slugs if not SLUG.fullmatch(s)]
    if bad:
        raise EvalFileError(f"{where}: {bad[0]!r} is not a slug (expected {FORMAT})")
    return EvalQuestion(question, frozenset(slugs))


async def evaluate_file(assistant: Assistant, questions: list[EvalQuestion]) -> EvalSummary:
    """Ask every question through the retriever the live assistant uses."""
    async with assistant.knowledge.db.acquire() as conn:
        known = set(await store.all_slugs(conn))
    if not known:
        raise EvalFileError("the knowledge base is empty; import articles first")
    warnings = sorted(
        f"no article {slug!r} in the knowledge base"
        for slug in {s for q in questions for s in q.expected} - known
    )
    hits_1 = hits_3 = none_declined = answerable_declined = 0
    calibrated = False
    rows = []
    for question in questions:
        retrieval = await assistant.retriever.retrieve(question.text)
        calibrated = retrieval.calibrated
        ranked = [a.slug for a in retrieval.articles]
        declined = not retrieval.answerable
        top = ranked[0] if ranked else None
        if not question.in_scope:
            none_declined += declined
            verdict = "declined" if declined else "answered"
        else:
            answerable_declined += declined
            hit_1 = bool(ranked[:1]) and ranked[0] in question.expected
            hit_3 = any(slug in question.expected for slug in ranked[:3])
            hits_1 += hit_1
            hits_3 += hit_3
            verdict = "declined" if declined else "hit@1" if hit_1 else "hit@3" if hit_3 else "miss"
        rows.append(EvalRow(question.text, top, round(retrieval.score, 4), declined, verdict))
    answerable = sum(q.in_scope for q in questions)
    return EvalSummary(
        model=assistant.knowledge.model,
        threshold=assistant.retriever.threshold,
        articles=len(known),
        questions=len(questions),
        answerable=answerable,
        out_of_scope=len(questions) - answerable,
        hits_at_1=hits_1,
        hits_at_3=hits_3,
        none_declined=none_declined,
        answerable_declined=answerable_declined,
        calibrated=calibrated,
        warnings=warnings,
        rows=rows,
    )
