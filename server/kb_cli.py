"""`parley kb`: import articles, ask a question, evaluate retrieval, calibrate, re-embed."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from .actions import knowledge as knowledge_actions
from .actions import knowledge_calibration, knowledge_import
from .actions.knowledge import Progress
from .assistant.kb_eval import EvalFileError, EvalSummary, evaluate_file, parse_eval_file
from .assistant_runtime.service import Assistant, build_assistant
from .config import Settings
from .services import backing_services
from .store.db import create_pool
from .store.migrations import migrate_dsn


def register(commands: Any) -> None:
    """Add `kb` and its subcommands to the `parley` parser."""
    kb = commands.add_parser("kb", help="the assistant's knowledge base")
    sub = kb.add_subparsers(dest="kb_command", required=True, metavar="COMMAND")
    imports = sub.add_parser("import", help="import .md/.txt/.html files or folders")
    imports.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ask = sub.add_parser("ask", help="answer a question as the assistant would")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    evaluate = sub.add_parser("eval", help="measure retrieval on question<TAB>slug lines")
    evaluate.add_argument("file", type=Path, metavar="FILE.tsv")
    evaluate.add_argument("--json", action="store_true", help="print the numbers as JSON")
    evaluate.add_argument(
        "--details", action="store_true", help="also each question's top article and decline score"
    )
    calibrate = sub.add_parser(
        "calibrate",
        help="choose the decline threshold from sample questions (or the articles' headings)",
    )
    calibrate.add_argument(
        "file", type=Path, nargs="?", metavar="FILE.tsv", help="question<TAB>slug|NONE lines"
    )
    calibrate.add_argument("--reset", action="store_true", help="back to the default threshold")
    calibrate.add_argument("--json", action="store_true", help="print the result as JSON")
    reindex = sub.add_parser("reindex", help="re-embed every article with the current model")
    reindex.add_argument(
        "--stale-only", action="store_true", help="only articles not indexed with this model"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.kb_command == "eval":
        try:  # a malformed file fails before any service starts
            questions = parse_eval_file(args.file)
        except EvalFileError as exc:
            print(f"parley kb eval: {exc}", file=sys.stderr)
            return 2
        return _with_assistant(settings, lambda a: _eval(a, questions, args.json, args.details))
    if args.kb_command == "calibrate":
        sample = None
        if args.file is not None:
            try:
                sample = parse_eval_file(args.file)
            except EvalFileError as exc:
                print(f"parley kb calibrate: {exc}", file=sys.stderr)
                return 2
        return _with_assistant(settings, lambda a: _calibrate(a, sample, args.reset, args.json))
    if args.kb_command == "import":
        return _with_assistant(settings, lambda a: _import(a, args.paths))
    if args.kb_command == "ask":
        return _with_assistant(settings, lambda a: _ask(a, args.question, args.json))
    if args.kb_command == "reindex":
        return _with_assistant(settings, lambda a: _reindex(a, args.stale_only))
    return 2


def _with_assistant(settings: Settings, command: Callable[[Assistant], Awaitable[int]]) -> int:
    """Run against the configured services, or embedded ones exactly like `parley serve`."""
    with backing_services(settings) as ready:
        return asyncio.run(_in_assistant(ready, command))


async def _in_assistant(settings: Settings, command: Callable[[Assistant], Awaitable[int]]) -> int:
    await migrate_dsn(settings.database_url, settings.sql_dir)
    pool = await create_pool(
        settings.database_url, min_size=1, max_size=2, pooler=settings.db_pooler
    )
    assistant = build_assistant(settings, pool)
    try:
        await knowledge_actions.prepare(assistant.knowledge)
        return await command(assistant)
    finally:
        await assistant.aclose()
        await pool.close()


class ProgressPrinter:
    """A bar redrawn in place on a terminal; one plain line per item otherwise (logs, CI)."""

    def __init__(self, verb: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.verb = verb
        self.tty = self.stream.isatty()

    def __call__(self, progress: Progress) -> None:
        if self.tty:
            width = 30
            filled = width * progress.done // max(progress.total, 1)
            bar = "#" * filled + "." * (width - filled)
            line = f"\r{self.verb} [{bar}] {progress.done}/{progress.total} {progress.slug}"
            self.stream.write(line[:120].ljust(120))
            if progress.done == progress.total:
                self.stream.write("\n")
        else:
            self.stream.write(
                f"{self.verb} {progress.done}/{progress.total} {progress.slug}: {progress.detail}\n"
            )
        self.stream.flush()


async def _import(assistant: Assistant, paths: list[Path]) -> int:
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"parley kb import: {path}: no such file or folder", file=sys.stderr)
    sources, unreadable = knowledge_import.read_sources([p for p in paths if p.exists()])
    items = unreadable + await knowledge_import.import_files(
        assistant.knowledge, sources, ProgressPrinter("importing")
    )
    for item in items:
        if item.outcome in ("error", "failed"):
            print(f"  {item.name}: {item.outcome}: {item.message}", file=sys.stderr)
    counts = {o: sum(i.outcome == o for i in items) for o in ("created", "updated", "unchanged")}
    problems = len(missing) + sum(i.outcome in ("error", "failed") for i in items)
    embedded = sum(i.chunks_embedded for i in items)
    print(
        f"{len(items)} files: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {problems} problems; {embedded} chunks embedded"
    )
    return 1 if problems else 0


async def _ask(assistant: Assistant, question: str, as_json: bool) -> int:
    result = await assistant.ask(question)
    if as_json:
        citations = [
            {"slug": c.slug, "title": c.title, "score": c.score, "url": c.url}
            for c in result.citations
        ]
        body = {"answer": result.answer, "citations": citations, "handoff": result.handoff}
        print(json.dumps(body, ensure_ascii=False))
        return 0
    print(result.answer)
    if result.citations:
        print("\nSources:")
        for number, c in enumerate(result.citations, start=1):
            print(f"  [{number}] {c.slug}  “{c.title}”  score {c.score:.3f}")
    if result.handoff:
        print("\n(hand-off to a person)")
    return 0


async def _eval(assistant: Assistant, questions: list[Any], as_json: bool, details: bool) -> int:
    try:
        summary = await evaluate_file(assistant, questions)
    except EvalFileError as exc:
        print(f"parley kb eval: {exc}", file=sys.stderr)
        return 1
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(summary.as_dict()) if as_json else _eval_text(summary))
    if details and not as_json:
        for row in summary.rows:
            print(f"{row.verdict:9} {row.score:.3f} {row.top_slug or '-':40} {row.question}")
    return 0


def _eval_text(s: EvalSummary) -> str:
    return "\n".join(
        [
            f"{s.questions} questions ({s.answerable} answerable, {s.out_of_scope} out of scope); "
            f"{s.articles} articles; model {s.model}; threshold {s.threshold:.3f} "
            f"({'calibrated' if s.calibrated else 'default'})",
            f"recall@1: {s.recall_at_1:.3f} ({s.hits_at_1}/{s.answerable})",
            f"recall@3: {s.recall_at_3:.3f} ({s.hits_at_3}/{s.answerable})",
            f"out-of-scope declined: {s.none_declined}/{s.out_of_scope}",
            f"answerable declined: {s.answerable_declined}/{s.answerable}",
        ]
    )


async def _calibrate(
    assistant: Assistant, sample: list[Any] | None, reset: bool, as_json: bool
) -> int:
    if reset:
        await knowledge_calibration.reset(assistant)
        print(f"threshold back to the default {assistant.retriever.default_threshold:.2f}")
        return 0
    try:
        result = await knowledge_calibration.calibrate(assistant, sample)
    except ValueError as exc:
        print(f"parley kb calibrate: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result.as_dict()))
        return 0
    print(
        f"threshold {result.threshold:.3f} (from {result.method}; model {result.model})\n"
        f"answerable declined: {result.answerable_declined}/{result.answerable}\n"
        f"out-of-scope declined: {result.out_of_scope_declined}/{result.out_of_scope}"
    )
    return 0


async def _reindex(assistant: Assistant, stale_only: bool) -> int:
    results = await knowledge_actions.reindex(
        assistant.knowledge, only_stale=stale_only, progress=ProgressPrinter("embedding")
    )
    failed = [r for r in results if r.error]
    for result in failed:
        print(f"  {result.slug}: {result.error}", file=sys.stderr)
    chunks = sum(len(r.embedded) for r in results)
    print(
        f"{len(results)} articles re-embedded with {assistant.knowledge.model} "
        f"({chunks} chunks), {len(failed)} failed"
    )
    return 1 if failed else 0
