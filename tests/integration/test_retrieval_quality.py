"""Retrieval quality on the demo help center with the real local model, all in memory.

Floors sit a little below the measured values in docs/retrieval.md so that a regression
fails, but a different CPU's last-digit rounding does not.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from server.assistant.embeddings import LocalMiniLM
from server.assistant.retrieval_eval import (
    BM25,
    DECLINE_THRESHOLD,
    EvalReport,
    evaluate,
    reciprocal_rank_fusion,
    weighted_fusion,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def report() -> EvalReport:
    embedder = LocalMiniLM()
    try:
        return await evaluate(embedder)
    finally:
        embedder.close()


def test_dense_ranking_finds_the_right_article(report: EvalReport) -> None:
    dense = report.score("dense")
    assert dense.recall_at_1 >= 0.80  # measured 0.846
    assert dense.recall_at_3 >= 0.93  # measured 0.962


def test_dense_is_at_least_as_good_as_lexical_and_rrf(report: EvalReport) -> None:
    dense = report.score("dense")
    assert dense.recall_at_1 > report.score("bm25").recall_at_1
    assert dense.recall_at_1 >= report.score("rrf").recall_at_1


def test_hybrid_ranking_beats_dense_alone(report: EvalReport) -> None:
    hybrid, dense = report.score("hybrid"), report.score("dense")
    assert hybrid.recall_at_1 >= 0.88  # measured 0.897 (0.872 in version 4)
    assert hybrid.recall_at_3 >= 0.97  # measured 1.000
    assert hybrid.mrr > dense.mrr  # measured 0.949 against 0.902


def test_passages_rank_at_least_as_well_as_chunk_vectors_alone(report: EvalReport) -> None:
    # On the demo the two tie at recall (0.897 / 1.000); the gain is on the reference manual and
    # the Evolution help center (test_retrieval_other_domains.py, docs/retrieval.md "Passages").
    hybrid, chunks_only = report.score("hybrid"), report.score("hybrid, chunk vectors only")
    assert hybrid.recall_at_1 >= chunks_only.recall_at_1
    assert hybrid.recall_at_3 >= chunks_only.recall_at_3
    assert hybrid.mrr >= chunks_only.mrr  # measured 0.949 against 0.947


def test_request_words_are_no_evidence(report: EvalReport) -> None:
    # "I want my money back", "i want to share my calendar": "want" found in a neighbouring
    # article no longer outweighs the question's topic (docs/retrieval.md, "Version 5").
    hybrid, older = report.score("hybrid"), report.score("v4: request words counted as evidence")
    assert hybrid.recall_at_1 > older.recall_at_1  # measured 0.897 against 0.872
    assert hybrid.recall_at_3 >= older.recall_at_3  # 1.000 both


def test_threshold_declines_off_topic_questions(report: EvalReport) -> None:
    assert report.threshold == DECLINE_THRESHOLD
    # Measured 11 of 14: 8 before the claims of "Version 8" (the stock price, a poem, how many
    # employees), 4 before the unknown-name term (Netflix, Linux, iCloud and Salesforce are
    # names no article mentions; docs/retrieval.md, "Version 6").
    assert report.none_declined >= 0.75
    assert report.in_scope_declined <= 0.03  # measured 0 of 78


def test_specificity_declines_more_near_domain_questions_at_a_calibrated_threshold(
    report: EvalReport,
) -> None:
    # The threshold that keeps 97% of the answerable questions (calibrating from them): the
    # decline score declines 7 of the 14 out-of-scope questions, the ranking's score alone 6.
    threshold = sorted(report.in_scope_top)[2]
    assert sum(s < threshold for s in report.none_top) >= 7


def test_clearly_off_topic_questions_score_below_every_typical_answer(report: EvalReport) -> None:
    lowest_none = sorted(report.none_top)[:4]  # weather, hiring, recipes, geography
    assert max(lowest_none) < DECLINE_THRESHOLD
    assert sorted(report.in_scope_top)[len(report.in_scope_top) // 20] > DECLINE_THRESHOLD


def test_bm25_prefers_documents_with_rare_query_terms() -> None:
    index = BM25(["refund policy for annual plans", "annual plans", "webhook retries"])
    scores = index.scores("refund annual")
    assert scores[0] > scores[1] > scores[2] == 0.0


def test_fusions_combine_both_rankings() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    lexical = [("b", 10.0), ("c", 2.0), ("a", 1.0)]
    assert [s for s, _ in reciprocal_rank_fusion([dense, lexical])] == ["b", "a", "c"]
    assert weighted_fusion(dense, lexical, 1.0)[0][0] == "a"
    assert weighted_fusion(dense, lexical, 0.5)[0][0] == "b"


@pytest.mark.parametrize(
    "name", ["dense", "bm25", "rrf", "weighted 0.8", "hybrid, chunk vectors only", "hybrid"]
)
def test_every_ranking_is_reported(report: EvalReport, name: str) -> None:
    score = report.score(name)
    assert 0.0 <= score.recall_at_1 <= score.recall_at_3 <= 1.0
