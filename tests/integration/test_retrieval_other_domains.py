"""Retrieval quality through the database on knowledge bases from other domains, and the
per-knowledge-base calibration of the decline threshold (tests/data/retrieval/README.md).

Floors sit a little under the measured values in docs/retrieval.md, "Other domains".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from server.actions.knowledge import KnowledgeBase
from server.actions.knowledge_calibration import calibrate, reset
from server.actions.knowledge_import import import_files, read_sources
from server.assistant.calibration import DECLINE_SCORE, HEADINGS_CEILING
from server.assistant.embeddings import LocalMiniLM
from server.assistant.kb_eval import EvalSummary, evaluate_file, parse_eval_file
from server.assistant.retrieval import Retriever
from server.assistant.retrieval_eval import DECLINE_THRESHOLD
from server.embedded import EmbeddedPostgres
from server.store import knowledge_search as search
from server.store.db import create_pool
from server.store.migrations import migrate_dsn

DATA = Path(__file__).resolve().parents[1] / "data" / "retrieval"


@dataclass
class KnowledgeSetup:
    """What evaluate_file and calibrate read of the assistant."""

    knowledge: KnowledgeBase
    retriever: Retriever


async def _imported(postgres: EmbeddedPostgres, minilm: LocalMiniLM, name: str) -> str:
    dsn = postgres.create_database(f"parley_kb_{name}")
    await migrate_dsn(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        sources, errors = read_sources([DATA / name])
        items = await import_files(KnowledgeBase(pool, minilm), sources)
        assert not errors and all(i.outcome == "created" for i in items), items
    finally:
        await pool.close()
    return dsn


def _knowledge_base_pool(name: str, fixture: str) -> Any:
    """A module-scoped fixture: a pool on a database holding the set `name`, imported once."""

    @pytest_asyncio.fixture(scope="module", loop_scope="session", name=fixture)
    async def imported_pool(
        embedded_postgres: EmbeddedPostgres, minilm: LocalMiniLM
    ) -> AsyncIterator[asyncpg.Pool]:
        pool = await create_pool(
            await _imported(embedded_postgres, minilm, name), min_size=1, max_size=4
        )
        yield pool
        await pool.close()

    return imported_pool


tmux_pool = _knowledge_base_pool("tmux", "tmux_pool")
sqlite_pool = _knowledge_base_pool("sqlite_faq", "sqlite_pool")
evolution_pool = _knowledge_base_pool("evolution", "evolution_pool")
python_faq_pool = _knowledge_base_pool("python_faq", "python_faq_pool")
gnucash_pool = _knowledge_base_pool("gnucash", "gnucash_pool")
debian_faq_pool = _knowledge_base_pool("debian_faq", "debian_faq_pool")
gnome_help_pool = _knowledge_base_pool("gnome_help", "gnome_help_pool")


def _setup(pool: asyncpg.Pool, minilm: LocalMiniLM) -> KnowledgeSetup:
    return KnowledgeSetup(KnowledgeBase(pool, minilm), Retriever(pool, minilm))


async def _evaluate(setup: KnowledgeSetup, name: str) -> EvalSummary:
    questions = parse_eval_file(DATA / name / "eval.tsv")
    return await evaluate_file(setup, questions)  # type: ignore[arg-type]


async def test_faq_style_sqlite_with_the_default_threshold(
    sqlite_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    summary = await _evaluate(_setup(sqlite_pool, minilm), "sqlite_faq")
    assert (summary.answerable, summary.out_of_scope) == (40, 11)
    assert summary.threshold == DECLINE_THRESHOLD and not summary.calibrated
    assert summary.recall_at_1 >= 0.95  # measured 0.975
    assert summary.recall_at_3 >= 0.95  # measured 0.975
    # Measured 1: "O'Reilly breaks my insert statement" names what the FAQ never mentions
    # (0 before the unknown-name term; docs/retrieval.md, "Version 6").
    assert summary.answerable_declined <= 1
    # Measured 10 of 11: 9 before the claims of "Version 8" ("can sqlite encrypt the database
    # file": no passage speaks of encryption), 8 before the missing-evidence term ("how much
    # does sqlite enterprise support cost per year": no passage mentions money), 7 before the
    # specificity term.
    assert summary.none_declined >= 10


async def test_tmux_manual_with_the_default_threshold(
    tmux_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    summary = await _evaluate(_setup(tmux_pool, minilm), "tmux")
    assert (summary.answerable, summary.out_of_scope) == (56, 13)
    assert summary.recall_at_1 >= 0.44  # measured 0.464 (0.357 before passages): a hard set
    assert summary.recall_at_3 >= 0.73  # measured 0.750
    assert summary.answerable_declined <= 1  # measured 1 of 56 at 0.50
    assert summary.none_declined >= 12  # measured 13 of 13, near-domain included (11 before)


async def test_calibration_from_sample_questions_is_stored_and_used(
    sqlite_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    setup = _setup(sqlite_pool, minilm)
    sample = parse_eval_file(DATA / "sqlite_faq" / "eval.tsv")
    try:
        result = await calibrate(setup, sample)  # type: ignore[arg-type]
        assert result.method == "sample" and result.answerable == 40
        assert result.answerable_declined <= 1  # at most 3% of 40
        assert result.threshold > DECLINE_THRESHOLD  # this FAQ separates better than the default
        async with sqlite_pool.acquire() as conn:
            stored = await search.get_calibration(conn, minilm.name)
        assert stored is not None and stored["decline_score"] == DECLINE_SCORE
        assert DECLINE_SCORE == "article+0.06z-0.5name"
        # A fresh retriever (another process) reads the stored threshold.
        summary = await _evaluate(_setup(sqlite_pool, minilm), "sqlite_faq")
        assert summary.calibrated and summary.threshold == pytest.approx(result.threshold)
        assert summary.answerable_declined == result.answerable_declined
        # Measured 8 of 11 at 0.541 (10 at 0.600 before the unknown-name term: O'Reilly, an
        # answerable question that names what the FAQ never mentions, now takes the 3% of
        # answerable questions the threshold may decline; docs/retrieval.md, "Version 6").
        assert summary.none_declined >= 8
    finally:
        await reset(setup)  # type: ignore[arg-type]
    after = await _evaluate(setup, "sqlite_faq")
    assert not after.calibrated and after.threshold == DECLINE_THRESHOLD


async def test_a_threshold_calibrated_for_an_older_decline_score_is_ignored(
    sqlite_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    setup = _setup(sqlite_pool, minilm)
    before_specificity = {"threshold": 0.44, "method": "sample", "model": minilm.name}
    before_names = {**before_specificity, "threshold": 0.6, "decline_score": "article+0.06z"}
    try:
        for older in (before_specificity, before_names):
            async with sqlite_pool.acquire() as conn:
                await search.set_calibration(conn, minilm.name, older)
            summary = await _evaluate(_setup(sqlite_pool, minilm), "sqlite_faq")
            assert not summary.calibrated and summary.threshold == DECLINE_THRESHOLD
    finally:
        await reset(setup)  # type: ignore[arg-type]


async def test_calibration_from_headings_without_sample_questions(
    tmux_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    setup = _setup(tmux_pool, minilm)
    try:
        result = await calibrate(setup)  # type: ignore[arg-type]
        assert result.method == "headings" and result.answerable > 50
        # The default raised to 0.02 above the best generic off-topic question (0.532 here),
        # never above HEADINGS_CEILING.
        assert DECLINE_THRESHOLD <= result.threshold <= HEADINGS_CEILING
        summary = await _evaluate(setup, "tmux")
        assert summary.calibrated and summary.threshold == pytest.approx(result.threshold)
        assert summary.answerable_declined <= 3  # measured 2 of 56 at 0.552
        assert summary.none_declined == 13
    finally:
        await reset(setup)  # type: ignore[arg-type]


async def test_evolution_help_center_with_the_default_threshold(
    evolution_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    summary = await _evaluate(_setup(evolution_pool, minilm), "evolution")
    assert (summary.answerable, summary.out_of_scope) == (67, 13)
    assert summary.threshold == DECLINE_THRESHOLD and not summary.calibrated
    # A realistic help center: the targets are 0.85 and 0.95 (docs/retrieval.md, "Passages").
    assert summary.recall_at_1 >= 0.85  # measured 0.866 (58 of 67; 0.791 before passages)
    assert summary.recall_at_3 >= 0.91  # measured 0.925 (62 of 67)
    assert summary.answerable_declined == 0  # measured 0
    # Measured 12 of 13 at 0.50: 11 before the missing-evidence term (a refund for the
    # subscription), 8 before the unknown-name term (iPhone, Zoom, HIPAA, AI), 7 before the
    # specificity term.
    assert summary.none_declined >= 12


async def test_a_price_question_needs_money_in_the_passages(
    evolution_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """Asked what something costs, a help center that never mentions money has no answer,
    however close the topic: the question is declined, and says why."""
    retriever = _setup(evolution_pool, minilm).retriever
    refund = await retriever.retrieve("can I get a refund for my Evolution subscription?")
    assert refund.missing_evidence == "price" and not refund.answerable
    assert refund.score == pytest.approx(
        refund.top_score + 0.06 * refund.specificity - 0.5, abs=1e-6
    )
    # A question about the same topics that asks nothing about money is scored as before.
    subscribe = await retriever.retrieve("how do I subscribe to a calendar on the web")
    assert subscribe.missing_evidence is None and subscribe.answerable


async def test_a_claim_only_the_help_center_can_make_needs_a_passage_about_it(
    evolution_pool: asyncpg.Pool, tmux_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """A phone line, a certification, writing asked of the assistant: no related article
    answers them, so they are declined and say why (docs/retrieval.md, "Version 8")."""
    evolution = _setup(evolution_pool, minilm).retriever
    phone = await evolution.retrieve("what's the phone number of Evolution's customer support?")
    assert phone.missing_evidence == "contact" and not phone.answerable
    assert phone.score == pytest.approx(phone.top_score + 0.06 * phone.specificity - 0.5, abs=1e-6)
    # A contact's phone number is the product's own business, found in its passages.
    field = await evolution.retrieve("how do I add a phone number to a contact")
    assert field.missing_evidence is None and field.answerable

    tmux = _setup(tmux_pool, minilm).retriever
    audit = await tmux.retrieve("has tmux had a security audit")
    assert audit.missing_evidence == "compliance" and not audit.answerable
    # Encryption is a security claim too; Evolution's passages speak of it (GnuPG, S/MIME).
    encrypted = await evolution.retrieve("is the subject line encrypted too")
    assert encrypted.missing_evidence is None and encrypted.answerable
    poem = await tmux.retrieve("write me a poem about the sea")
    assert poem.missing_evidence == "writing" and not poem.answerable


async def test_evolution_calibrated_from_its_sample_questions(
    evolution_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    setup = _setup(evolution_pool, minilm)
    sample = parse_eval_file(DATA / "evolution" / "eval.tsv")
    try:
        result = await calibrate(setup, sample)  # type: ignore[arg-type]
        assert result.method == "sample" and result.answerable == 67
        assert result.answerable_declined <= 2  # at most 3% of 67
        summary = await _evaluate(_setup(evolution_pool, minilm), "evolution")
        assert summary.calibrated and summary.threshold == pytest.approx(result.threshold)
        assert summary.answerable_declined <= 2  # measured 2 of 67 at 0.602
        # Measured 12 of 13 (10 before the specificity term): the near-domain question that
        # still passes is the answer step's to decline (docs/retrieval.md, "Version 4").
        assert summary.none_declined >= 11
    finally:
        await reset(setup)  # type: ignore[arg-type]


async def test_evolution_calibrated_from_its_headings(
    evolution_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    setup = _setup(evolution_pool, minilm)
    try:
        result = await calibrate(setup)  # type: ignore[arg-type]
        assert result.method == "headings" and result.threshold <= HEADINGS_CEILING
        summary = await _evaluate(setup, "evolution")
        assert summary.calibrated and summary.threshold == pytest.approx(result.threshold)
        assert summary.answerable_declined <= 2  # measured 1 of 67 at 0.57
        # Measured 11 of 13 (10 before the unknown-name term, 9 before the specificity term).
        assert summary.none_declined >= 10
    finally:
        await reset(setup)  # type: ignore[arg-type]


async def test_python_faq_with_the_default_threshold(
    python_faq_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """179 short articles, one per question (tests/data/retrieval/README.md)."""
    summary = await _evaluate(_setup(python_faq_pool, minilm), "python_faq")
    assert (summary.answerable, summary.out_of_scope) == (68, 13)
    assert summary.threshold == DECLINE_THRESHOLD and not summary.calibrated
    # Measured 0.926 (63 of 68; 0.912 before the platform tie-break of "Version 8" sent
    # "./script on linux" to the Unix article): an .exe for coworkers goes to making scripts
    # executable on Windows, "run directly or imported" to .pyc files, cleanup at exit to
    # memory at exit.
    assert summary.recall_at_1 >= 0.91
    assert summary.recall_at_3 >= 0.94  # measured 0.956 (65 of 68)
    # Measured 0 of 68. Measured blind, 4: three questions quoted code that the unknown-name
    # term took for names (AttributeError _MyClass__x, ImportError, r'C:\temp\'), and the
    # price term took "remember the result of an expensive method" for a price question whose
    # best article never says "expensive". Code, paths and CamelCase compounds of known words
    # are no names now, and the evidence may be in any passage the answer step is given, not
    # only the best article's (docs/retrieval.md, "Version 7").
    assert summary.answerable_declined == 0
    # Measured 9 of 13 (8 blind): the four off-topic ones and 5 of the 9 that name Python, the
    # Android app by the platform term; a virtual environment, a decorator, Excel and pip still
    # pass the threshold.
    assert summary.none_declined >= 9


async def test_a_platform_question_needs_the_platform_in_the_passages(
    python_faq_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """Asked about an Android app, an FAQ whose passages never name a phone has no answer."""
    retriever = _setup(python_faq_pool, minilm).retriever
    android = await retriever.retrieve("can I build an android app with python")
    assert android.missing_evidence == "platform" and not android.answerable
    windows = await retriever.retrieve(
        "how do i run my hello.py from the command prompt on windows"
    )
    assert windows.missing_evidence is None and windows.answerable


async def test_gnucash_help_center_with_the_default_threshold(
    gnucash_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """A help center of long pages (~880 words each) about an accounting application, measured
    once with questions written before any retrieval on it (tests/data/retrieval/README.md)."""
    summary = await _evaluate(_setup(gnucash_pool, minilm), "gnucash")
    assert (summary.answerable, summary.out_of_scope) == (71, 13)
    assert summary.threshold == DECLINE_THRESHOLD and not summary.calibrated
    assert summary.recall_at_1 >= 0.85  # measured 0.873 (62 of 71)
    assert summary.recall_at_3 >= 0.95  # measured 0.972 (69 of 71)
    assert summary.answerable_declined == 0  # measured 0 (lowest answerable score 0.543)
    # Measured 9 of 13 at 0.50 (6 blind): the four generic questions and five near-domain ones
    # (OCR, Stripe, the mobile app by the platform term, the support phone number and a
    # password for the file by the claims of "Version 8"). Four near-domain questions pass at
    # 0.53-0.69 (payroll, the licence price, editing at the same time, bitcoin). The licence
    # question says neither price nor cost, so the price term does not apply; 41 of the 71
    # articles mention money anyway.
    assert summary.none_declined >= 9


async def test_debian_faq_with_the_default_threshold(
    debian_faq_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """An FAQ of 119 questions about an operating system, many of them close to each other
    (stable, testing and unstable), measured once with questions written before any retrieval
    on it (tests/data/retrieval/README.md)."""
    summary = await _evaluate(_setup(debian_faq_pool, minilm), "debian_faq")
    assert (summary.answerable, summary.out_of_scope) == (67, 13)
    assert summary.threshold == DECLINE_THRESHOLD and not summary.calibrated
    # FAQ-style, so the target is 0.95. Measured 0.821 (55 of 67; 0.806 before one missing
    # label was added): close questions win over the one that answers (a package held back
    # goes to upgrading in single-user mode, squeeze's version number to checking the
    # installed version, the easiest way to get gcc and make to rebuilding a source package).
    assert summary.recall_at_1 >= 0.80
    assert summary.recall_at_3 >= 0.95  # measured 0.970 (65 of 67)
    assert summary.answerable_declined == 0  # measured 0 (lowest answerable score 0.522)
    # Measured 8 of 13 at 0.50: the five off-topic ones and three that name Debian (a firewall
    # port, a static IP address, the time zone). Five near-domain ones pass at 0.55-0.88: root
    # login over ssh, the NVIDIA driver, a swap file, Flatpak, and how long Debian 11 gets
    # security updates, close to the article on stable's security updates.
    assert summary.none_declined >= 8


async def test_gnome_help_center_with_the_default_threshold(
    gnome_help_pool: asyncpg.Pool, minilm: LocalMiniLM
) -> None:
    """A consumer help center (Wi-Fi, sound, printing, power, files, settings) of 212 short
    pages, measured once with questions written before any retrieval on it
    (tests/data/retrieval/README.md)."""
    summary = await _evaluate(_setup(gnome_help_pool, minilm), "gnome_help")
    assert (summary.answerable, summary.out_of_scope) == (67, 13)
    assert summary.threshold == DECLINE_THRESHOLD and not summary.calibrated
    # Measured 0.910 (61 of 67): neighbouring pages win on shared words (dark mode goes to
    # Night Light, a booklet on a one-sided printer to the double-sided booklet, making an
    # existing user an administrator to adding a user, double letters to repeat keys).
    assert summary.recall_at_1 >= 0.89
    # Measured 0.985 (66 of 67): "skip the password screen" never reaches automatic login.
    assert summary.recall_at_3 >= 0.97
    assert summary.answerable_declined == 0  # measured 0 (lowest answerable score 0.768)
    # Measured 7 of 13 at 0.50: the five generic questions, HDR by the unknown-name term and
    # the Android phone by the platform term. Six near-domain questions pass at 0.68-0.92
    # (upgrading GNOME, icon themes, Settings crashing, face unlock, a battery charge limit,
    # clipboard history): each lands on a page about the same part of the desktop.
    assert summary.none_declined >= 7
