"""The knowledge base over REST, for admins: articles, imports, status and "try a question"."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import msgspec
from aiohttp import BodyPartReader, web

from ..actions import audit, knowledge_calibration, knowledge_import
from ..actions import knowledge as knowledge_actions
from ..actions.knowledge import SaveResult
from ..assistant.chunking import first_heading_title
from ..assistant_runtime.service import Assistant
from ..core import policies
from ..core.errors import ErrorCode, ParleyError, not_found
from ..core.knowledge import ArticleDraft, slugify
from ..store import knowledge as knowledge_store
from .errors import json_response
from .keys import ASSISTANT, SERVICES
from .requests import int_query, principal_of, read_body

routes = web.RouteTableDef()

PREFIX = "/api/v1/knowledge"
MAX_IMPORT_FILES = 200

Text = Annotated[str, msgspec.Meta(max_length=300_000)]


class CreateArticleBody(msgspec.Struct, forbid_unknown_fields=True):
    body: Text
    title: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    slug: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    source_url: str | None = None
    tags: list[str] = []


class UpdateArticleBody(msgspec.Struct, forbid_unknown_fields=True):
    body: Text
    title: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    source_url: str | None = None
    tags: list[str] = []


class AskBody(msgspec.Struct, forbid_unknown_fields=True):
    question: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class CalibrateBody(msgspec.Struct, forbid_unknown_fields=True):
    reset: bool = False


async def _assistant(request: web.Request) -> Assistant:
    policies.ensure_can_manage_knowledge(await principal_of(request))
    return request.app[ASSISTANT]


async def _audited(request: web.Request, action: str, target: str | None, **details: Any) -> None:
    admin = policies.ensure_can_manage_knowledge(await principal_of(request))
    await audit.record_separately(
        request.app[SERVICES], admin, action, "knowledge", target, **details
    )


def _draft(slug: str, body: CreateArticleBody | UpdateArticleBody) -> ArticleDraft:
    title = body.title or first_heading_title(body.body, slug)
    return ArticleDraft(slug, title, body.body, body.source_url, tuple(body.tags))


def _index_data(result: SaveResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "index_status": result.index_status,
        "chunks_embedded": list(result.embedded),
        "chunks_reused": list(result.reused),
        "chunks_removed": result.removed,
        "error": result.error,
    }


async def _article_data(assistant: Assistant, slug: str) -> dict[str, Any]:
    async with assistant.knowledge.db.acquire() as conn:
        article = await knowledge_store.get_article(conn, slug)
        if article is None:
            raise not_found("article")
        chunks = await knowledge_store.chunks_of(conn, article.id, assistant.knowledge.model)
    data: dict[str, Any] = msgspec.to_builtins(article)
    data["chunks"] = [
        {
            "ordinal": c.ordinal,
            "heading_path": c.heading_path,
            "content_hash": c.content_hash,
            "embedded_at": c.embedded_at,
        }
        for c in chunks
    ]
    return data


@routes.get(f"{PREFIX}/articles")
async def list_articles(request: web.Request) -> web.Response:
    """?q= searches titles and slugs; ?limit= and ?offset= page through them."""
    assistant = await _assistant(request)
    limit = int_query(request, "limit", default=50, low=1, high=200)
    offset = int_query(request, "offset", default=0, low=0, high=1_000_000)
    assert limit is not None and offset is not None
    query = request.query.get("q", "").strip()[:200] or None
    async with assistant.knowledge.db.acquire() as conn:
        found = await knowledge_store.list_articles(
            conn, title_query=query, limit=limit + 1, offset=offset
        )
    page = found[:limit]
    next_offset = offset + limit if len(found) > limit else None
    return json_response({"ok": True, "data": {"articles": page, "next_offset": next_offset}})


@routes.get(PREFIX + "/articles/{slug}")
async def get_article(request: web.Request) -> web.Response:
    assistant = await _assistant(request)
    data = await _article_data(assistant, request.match_info["slug"])
    return json_response({"ok": True, "data": {"article": data}})


@routes.post(f"{PREFIX}/articles")
async def create_article(request: web.Request) -> web.Response:
    """The title defaults to the body's first heading and the slug to one made from the
    title; a taken slug is a 409."""
    assistant = await _assistant(request)
    body = await read_body(request, CreateArticleBody)
    slug = body.slug or slugify(body.title or first_heading_title(body.body, ""))
    if not slug:
        raise ParleyError(
            ErrorCode.VALIDATION_FAILED, "give a slug, a title or a body starting with a heading"
        )
    result = await knowledge_actions.create_article(assistant.knowledge, _draft(slug, body))
    await _audited(request, "knowledge.create", result.slug, title=body.title)
    data = {"article": await _article_data(assistant, result.slug), "index": _index_data(result)}
    return json_response({"ok": True, "data": data}, status=201)


@routes.put(PREFIX + "/articles/{slug}")
async def update_article(request: web.Request) -> web.Response:
    """Replaces the article; only chunks whose text changed are embedded again."""
    assistant = await _assistant(request)
    body = await read_body(request, UpdateArticleBody)
    draft = _draft(request.match_info["slug"], body)
    result = await knowledge_actions.update_article(assistant.knowledge, draft)
    await _audited(request, "knowledge.update", result.slug, outcome=result.outcome)
    data = {"article": await _article_data(assistant, result.slug), "index": _index_data(result)}
    return json_response({"ok": True, "data": data})


@routes.delete(PREFIX + "/articles/{slug}")
async def delete_article(request: web.Request) -> web.Response:
    assistant = await _assistant(request)
    slug = request.match_info["slug"]
    await knowledge_actions.delete_article(assistant.knowledge, slug)
    await _audited(request, "knowledge.delete", slug)
    return json_response({"ok": True, "data": {"deleted": slug}})


@routes.post(f"{PREFIX}/import")
async def import_files(request: web.Request) -> web.Response:
    """multipart/form-data with one or more `file` parts (.md, .txt, .html)."""
    assistant = await _assistant(request)
    if not request.content_type.startswith("multipart/"):
        raise ParleyError(ErrorCode.BAD_REQUEST, "send multipart/form-data with file parts")
    sources = await _read_uploads(request)
    if not sources:
        raise ParleyError(ErrorCode.BAD_REQUEST, "no file parts in the upload")
    items = await knowledge_import.import_files(assistant.knowledge, sources)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    data = {"items": [dataclasses.asdict(i) for i in items], "counts": counts}
    await _audited(request, "knowledge.import", None, counts=counts)
    return json_response({"ok": True, "data": data})


async def _read_uploads(request: web.Request) -> list[knowledge_import.SourceFile]:
    reader = await request.multipart()
    sources: list[knowledge_import.SourceFile] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name != "file":
            raise ParleyError(ErrorCode.UNKNOWN_FIELD, f"unknown form field {part.name!r}")
        if len(sources) >= MAX_IMPORT_FILES:
            raise ParleyError(ErrorCode.TOO_LARGE, f"at most {MAX_IMPORT_FILES} files at once")
        data = await part.read_chunk(knowledge_import.MAX_FILE_BYTES + 1)
        while len(data) <= knowledge_import.MAX_FILE_BYTES and (more := await part.read_chunk()):
            data += more
        if len(data) > knowledge_import.MAX_FILE_BYTES:
            limit = knowledge_import.MAX_FILE_BYTES
            raise ParleyError(ErrorCode.TOO_LARGE, f"{part.filename}: larger than {limit} bytes")
        sources.append(knowledge_import.SourceFile(part.filename or "upload.txt", data))
    return sources


@routes.post(f"{PREFIX}/ask")
async def try_question(request: web.Request) -> web.Response:
    """Runs the live pipeline; `retrieval` adds what was found and how well it scored."""
    assistant = await _assistant(request)
    body = await read_body(request, AskBody)
    result = await assistant.ask(body.question)
    retrieval = await assistant.retriever.retrieve(body.question)
    data = result.to_dict()
    data["retrieval"] = {
        "threshold": retrieval.threshold,
        "calibrated": retrieval.calibrated,
        "top_score": retrieval.top_score,
        "score": round(retrieval.score, 4) if retrieval.articles else None,
        "specificity": round(retrieval.specificity, 3),
        "unknown_name": retrieval.unknown_name,
        "missing_evidence": retrieval.missing_evidence,
        "articles": [
            {"slug": a.slug, "title": a.title, "score": round(a.score, 4)}
            for a in retrieval.articles
        ],
    }
    return json_response({"ok": True, "data": data})


@routes.post(f"{PREFIX}/calibrate")
async def calibrate(request: web.Request) -> web.Response:
    """Choose the decline threshold from the articles' headings and generic off-topic
    questions (the admin page's button); `{"reset": true}` goes back to the default."""
    assistant = await _assistant(request)
    body = await read_body(request, CalibrateBody)
    if body.reset:
        await knowledge_calibration.reset(assistant)
        await _audited(request, "knowledge.calibration_reset", None)
        default = {"threshold": assistant.retriever.default_threshold, "calibrated": False}
        return json_response({"ok": True, "data": default})
    try:
        result = await knowledge_calibration.calibrate(assistant)
    except ValueError as exc:
        raise ParleyError(ErrorCode.VALIDATION_FAILED, str(exc)) from exc
    await _audited(request, "knowledge.calibrated", None, threshold=result.threshold)
    return json_response({"ok": True, "data": {**result.as_dict(), "calibrated": True}})


@routes.get(f"{PREFIX}/status")
async def status(request: web.Request) -> web.Response:
    assistant = await _assistant(request)
    knowledge = assistant.knowledge
    async with knowledge.db.acquire() as conn:
        counts = await knowledge_store.status_counts(conn)
        stale = await knowledge_store.articles_needing_index(conn, knowledge.model)
    llm = assistant.llm
    data = {
        "embedding_model": knowledge.model,
        "dimensions": knowledge.embedder.dimensions,
        "threshold": assistant.retriever.threshold,
        "llm": {
            "configured": llm is not None,
            "model": llm.name if llm else None,
            "breaker": str(llm.breaker.state) if llm else None,
        },
        "articles": counts["articles"],
        "chunks": counts["chunks"],
        "needs_index": stale,
        "upkeep": dataclasses.asdict(assistant.upkeep),
    }
    return json_response({"ok": True, "data": data})
