"""Knowledge-base articles as the domain sees them: slugs, drafts and their validation."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from .errors import invalid

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
MAX_TITLE = 300
MAX_BODY_CHARS = 200_000  # about 30,000 words: far beyond any help-center article
MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_URL_CHARS = 2000


def slugify(name: str) -> str:
    """A file name or title as a slug: lower case ASCII, other runs of characters as '-'.
    'Reset Password' -> 'reset-password'; 'api_keys.v2' stays 'api_keys.v2'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_name.lower()).strip("-._")
    return slug[:128].rstrip("-._")


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """An article as written by an admin or read from a file, before it is stored."""

    slug: str
    title: str
    body: str
    source_url: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        """What retrieval depends on: the title and the body. Tags and URL are metadata."""
        digest = hashlib.sha256()
        digest.update(self.title.encode())
        digest.update(b"\x00")
        digest.update(self.body.encode())
        return digest.hexdigest()


def validate_draft(draft: ArticleDraft) -> ArticleDraft:
    """The draft with surrounding whitespace trimmed, or a validation_failed error."""
    slug = draft.slug.strip()
    if not SLUG.fullmatch(slug):
        raise invalid(
            "slug must be 1-128 characters of a-z, 0-9, '.', '_' or '-', starting with a "
            "letter or digit",
            field="slug",
        )
    title = " ".join(draft.title.split())
    if not 1 <= len(title) <= MAX_TITLE:
        raise invalid(f"title must be 1 to {MAX_TITLE} characters", field="title")
    body = draft.body.strip()
    if not body:
        raise invalid("body is empty", field="body")
    if len(body) > MAX_BODY_CHARS:
        raise invalid(f"body is longer than {MAX_BODY_CHARS} characters", field="body")
    if "\x00" in body or "\x00" in title:
        raise invalid("text must not contain NUL characters")
    url = (draft.source_url or "").strip() or None
    if url is not None and (len(url) > MAX_URL_CHARS or not re.match(r"^https?://\S+$", url)):
        raise invalid("source_url must be an http(s) URL", field="source_url")
    tags = tuple(dict.fromkeys(t.strip() for t in draft.tags if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in tags):
        raise invalid(f"at most {MAX_TAGS} tags of up to {MAX_TAG_CHARS} characters", field="tags")
    return ArticleDraft(slug, title, body, url, tags)
