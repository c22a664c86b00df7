"""Calibrate a knowledge base's decline threshold and store it with the knowledge base."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..assistant.calibration import (
    GENERIC_OFF_TOPIC,
    Calibration,
    choose_threshold,
    heading_questions,
    headings_threshold,
)
from ..assistant.retrieval_eval import DECLINE_THRESHOLD, EvalQuestion
from ..store import knowledge_search as search

if TYPE_CHECKING:
    from ..assistant_runtime.service import Assistant


async def calibrate(
    assistant: Assistant, sample: Sequence[EvalQuestion] | None = None
) -> Calibration:
    """Score the questions through the live retriever, choose a threshold and store it."""
    retriever = assistant.retriever
    model = assistant.knowledge.model
    if sample:
        answerable_questions = [q.text for q in sample if q.in_scope]
        off_questions = [q.text for q in sample if not q.in_scope] + list(GENERIC_OFF_TOPIC)
        method = "sample"
    else:
        async with assistant.knowledge.db.acquire() as conn:
            chunks = await search.searchable_chunks(conn, model)
        titles = sorted({c.title for c in chunks})
        headings = sorted({c.heading_path[-1] for c in chunks if c.heading_path})
        answerable_questions = heading_questions(titles, headings)
        off_questions = list(GENERIC_OFF_TOPIC)
        method = "headings"
    if not answerable_questions:
        raise ValueError("nothing to calibrate with: no answerable questions and no headings")
    answerable = [(await retriever.retrieve(q)).score for q in answerable_questions]
    off = [(await retriever.retrieve(q)).score for q in off_questions]
    if method == "headings":
        threshold = headings_threshold(answerable, off, DECLINE_THRESHOLD)
    else:
        threshold = choose_threshold(answerable, off)
    result = Calibration(
        threshold=threshold,
        method=method,
        model=model,
        answerable=len(answerable),
        out_of_scope=len(off),
        answerable_declined=sum(s < threshold for s in answerable),
        out_of_scope_declined=sum(s < threshold for s in off),
        calibrated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    async with assistant.knowledge.db.acquire() as conn:
        await search.set_calibration(conn, model, result.as_dict())
    return result


async def reset(assistant: Assistant) -> None:
    async with assistant.knowledge.db.acquire() as conn:
        await search.clear_calibration(conn, assistant.knowledge.model)
