"""Importing help-center files (.md, .txt, .html; folders recursively) as articles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from ..assistant.chunking import first_heading_title, html_to_text
from ..assistant.embeddings import Vector
from ..core.errors import ParleyError
from ..core.knowledge import ArticleDraft, slugify, validate_draft
from ..store import knowledge as store
from .knowledge import (
    EMBED_AHEAD_CHUNKS,
    KnowledgeBase,
    Progress,
    ProgressCallback,
    chunk_draft,
    embed_ahead,
    prepare,
    upsert_article,
)

log = logging.getLogger(__name__)

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html",
            ".htm": "html"}  # fmt: skip
MAX_FILE_BYTES = 1024 * 1024
DEMO_SEED_KEY = "demo_seeded"
_SEED_LOCK = 0x5041524E


@dataclass(frozen=True, slots=True)
class ImportItem:
    """One file's outcome: created, updated, unchanged, failed (saved, not embedded) or
    error (not saved)."""

    name: str
    slug: str | None
    outcome: str
    chunks_embedded: int = 0
    message: str | None = None


@dataclass(frozen=True, slots=True)
class SourceFile:
    name: str  # as given (a path or an upload's file name)
    data: bytes


class ImportFileError(ValueError):
    """A file that cannot become an article (wrong type, too big, not UTF-8, empty)."""


def draft_from_file(name: str, data: bytes) -> ArticleDraft:
    """slug = file name without extension; title = first heading, else the file name."""
    path = PurePath(name)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ImportFileError(f"unsupported file type {path.suffix or '(none)'}; "
                              f"use {', '.join(sorted(SUFFIXES))}")  # fmt: skip
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if kind == "html":
        text = html_to_text(text)
    slug = slugify(path.stem)
    if not slug:
        raise ImportFileError("the file name has no letters or digits to make a slug from")
    if not text.strip():
        raise ImportFileError("the file is empty")
    return ArticleDraft(slug=slug, title=first_heading_title(text, path.stem), body=text)


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Supported files under `paths` (folders recursively, hidden entries skipped), sorted
    within each folder. A file named explicitly is returned even with another suffix, so the
    import reports it instead of skipping it silently."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def read_sources(paths: Sequence[Path]) -> tuple[list[SourceFile], list[ImportItem]]:
    sources, errors = [], []
    for path in find_files(paths):
        try:
            sources.append(SourceFile(str(path), path.read_bytes()))
        except OSError as exc:
            errors.append(ImportItem(str(path), None, "error", message=exc.strerror or str(exc)))
    return sources, errors


async def import_files(
    kb: KnowledgeBase, sources: Sequence[SourceFile], progress: ProgressCallback | None = None
) -> list[ImportItem]:
    """Create or update one article per file; a bad file is reported, never fatal. Each
    article is saved in its own transaction, but the new chunks of about
    EMBED_AHEAD_CHUNKS chunks' worth of articles are embedded together first, the next
    group's while this group's articles are written."""
    await prepare(kb)
    items: list[ImportItem] = []
    seen: dict[str, str] = {}
    parsed = [_parse(source, seen) for source in sources]
    groups = _groups(kb, parsed, sources)
    ahead = asyncio.create_task(embed_ahead(kb, _drafts(groups[0])))
    try:
        for number, group in enumerate(groups):
            ready = await ahead
            if number + 1 < len(groups):
                ahead = asyncio.create_task(embed_ahead(kb, _drafts(groups[number + 1])))
            for source, parsed_file in group:
                if isinstance(parsed_file, ImportItem):
                    item = parsed_file
                else:
                    item = await _save_one(kb, source, parsed_file, ready)
                items.append(item)
                if progress:
                    progress(_progress(item, len(items), len(sources)))
    finally:
        ahead.cancel()
    return items


def _progress(item: ImportItem, done: int, total: int) -> Progress:
    detail = item.message or f"{item.outcome}, {item.chunks_embedded} chunks embedded"
    return Progress(done, total, item.slug or item.name, detail)


def _drafts(group: Sequence[tuple[SourceFile, ArticleDraft | ImportItem]]) -> list[ArticleDraft]:
    return [draft for _, draft in group if isinstance(draft, ArticleDraft)]


def _parse(source: SourceFile, seen: dict[str, str]) -> ArticleDraft | ImportItem:
    try:
        draft = validate_draft(draft_from_file(source.name, source.data))
    except ImportFileError as exc:
        return ImportItem(source.name, None, "error", message=str(exc))
    except ParleyError as exc:
        return ImportItem(source.name, None, "error", message=exc.message)
    if draft.slug in seen:
        # Two files with one name in different folders would overwrite each other.
        message = f"slug {draft.slug!r} already comes from {seen[draft.slug]}"
        return ImportItem(source.name, draft.slug, "error", message=message)
    seen[draft.slug] = source.name
    return draft


def _groups(
    kb: KnowledgeBase, parsed: Sequence[ArticleDraft | ImportItem], sources: Sequence[SourceFile]
) -> list[list[tuple[SourceFile, ArticleDraft | ImportItem]]]:
    groups: list[list[tuple[SourceFile, ArticleDraft | ImportItem]]] = [[]]
    chunks = 0
    for source, draft in zip(sources, parsed, strict=True):
        if chunks >= EMBED_AHEAD_CHUNKS:
            groups.append([])
            chunks = 0
        groups[-1].append((source, draft))
        if isinstance(draft, ArticleDraft):
            chunks += len(chunk_draft(kb, draft))
    return groups


async def _save_one(
    kb: KnowledgeBase, source: SourceFile, draft: ArticleDraft, ready: dict[str, Vector]
) -> ImportItem:
    try:
        result = await upsert_article(kb, draft, vectors=ready)
    except ParleyError as exc:
        return ImportItem(source.name, draft.slug, "error", message=exc.message)
    outcome = "failed" if result.error else result.outcome
    return ImportItem(source.name, draft.slug, outcome, len(result.embedded), result.error)


async def seed_demo_if_empty(kb: KnowledgeBase, directory: Path) -> list[ImportItem] | None:
    """Import the demo help center into a knowledge base that has never had one and is empty.

    Returns None when nothing was done (not empty, seeded before, or another process is on
    it). A seed interrupted by a shutdown is resumed at the next start (importing is
    idempotent); deleting every demo article afterwards is respected: it is seeded only once.
    """
    # The claim is a transaction-scoped lock held open for the whole seed (safe through a
    # transaction-mode pooler); the seed's own writes commit on other connections as they go,
    # so a seed cut short is resumed, not forgotten.
    async with kb.db.acquire() as claim, claim.transaction():
        if not await claim.fetchval("SELECT pg_try_advisory_xact_lock($1)", _SEED_LOCK):
            return None
        async with kb.db.acquire() as conn:
            state = await store.get_state(conn, DEMO_SEED_KEY)
            if state is None and await store.count_articles(conn):
                return None  # someone else's help center: leave it alone
            if state is not None and state.get("complete"):
                return None
            await store.set_state(conn, DEMO_SEED_KEY, {"complete": False})
        sources, errors = read_sources([directory])
        items = errors + await import_files(kb, sources)
        async with kb.db.acquire() as conn:
            await store.set_state(conn, DEMO_SEED_KEY, {"complete": True, "articles": len(sources)})
        return items
