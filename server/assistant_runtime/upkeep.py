"""Knowledge-base upkeep after start-up: seed the demo help center, re-embed stale articles."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from ..actions.knowledge import KnowledgeBase, prepare, reindex
from ..actions.knowledge_import import seed_demo_if_empty
from ..assistant.retrieval_eval import DEMO_KB

log = logging.getLogger(__name__)


@dataclass(slots=True)
class UpkeepState:
    """What the status endpoint reports about the start-up work of this process."""

    state: str = "pending"  # pending | running | done | failed
    seeded_articles: int | None = None
    reindexed_articles: int = 0
    seconds: float | None = None
    error: str | None = None


async def keep_up(kb: KnowledgeBase, *, seed_demo: bool, state: UpkeepState) -> None:
    """Runs after the server started listening, so serving never waits for embeddings.

    The demo help center takes a few seconds to embed on two cores (docs/assistant.md), which
    is too long to hold back readiness, and any process may do it: the seed is guarded by an
    advisory lock and happens once per database.
    """
    started = time.perf_counter()
    state.state = "running"
    try:
        await prepare(kb)
        if seed_demo:
            items = await seed_demo_if_empty(kb, DEMO_KB)
            if items is not None:
                state.seeded_articles = sum(i.outcome == "created" for i in items)
                log.info("imported the demo help center: %d articles", state.seeded_articles)
        stale = await reindex(kb, only_stale=True)
        state.reindexed_articles = len(stale)
        if stale:
            log.info("re-embedded %d articles with %s", len(stale), kb.model)
        state.state = "done"
    except asyncio.CancelledError:
        state.state = "pending"
        raise
    except Exception as exc:
        state.state, state.error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("knowledge-base upkeep failed; retrieval uses what is indexed")
    finally:
        state.seconds = round(time.perf_counter() - started, 2)
