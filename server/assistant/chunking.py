"""Split help-center articles (Markdown, plain text or HTML) into embeddable chunks."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by space and
# an upper-case letter, digit or opening mark, so "e.g. the" and "v1.2" stay whole.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[*`])")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkOptions:
    """Sizes in words. Sections up to `max_words` stay whole; longer ones are split into
    pieces of about `target_words`; pieces under `min_words` are merged with a neighbour."""

    target_words: int = 160
    max_words: int = 220
    min_words: int = 60


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of an article, with the headings it sits under."""

    article_title: str
    heading_path: tuple[str, ...]
    text: str
    ordinal: int
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        # Hash exactly what is embedded: a new title or heading must re-embed too.
        digest = hashlib.sha256(self.embedding_text.encode("utf-8")).hexdigest()
        object.__setattr__(self, "content_hash", digest)

    @property
    def context(self) -> str:
        return " > ".join((self.article_title, *self.heading_path))

    @property
    def embedding_text(self) -> str:
        """The context prefix plus the body with Markdown markup removed."""
        return f"{self.context}\n\n{markdown_to_plain(self.text)}"

    @property
    def word_count(self) -> int:
        return count_words(self.text)


@dataclass
class _Piece:
    path: tuple[str, ...]
    text: str


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def first_heading_title(text: str, fallback: str) -> str:
    """The first level-1 heading, else the first heading of any level, else `fallback`."""
    headings = [(len(level), title) for level, title, _ in _headings(text)]
    for level, title in headings:
        if level == 1:
            return title
    return headings[0][1] if headings else fallback


def chunk_article(
    text: str, *, fallback_title: str, options: ChunkOptions | None = None
) -> list[Chunk]:
    """Chunk a Markdown or plain-text article. The title heading becomes context, not text."""
    options = options or ChunkOptions()
    title = first_heading_title(text, fallback_title)
    pieces: list[_Piece] = []
    for path, body in _sections(text, title):
        pieces.extend(_Piece(path, part) for part in _split_section(body, options))
    pieces = _merge_small(pieces, options)
    return [
        Chunk(article_title=title, heading_path=piece.path, text=piece.text, ordinal=i)
        for i, piece in enumerate(pieces)
    ]


def markdown_to_plain(text: str) -> str:
    """Drop the Markdown markup that carries no words (emphasis, code ticks, link targets)."""
    lines = []
    for line in text.splitlines():
        if _TABLE_RULE.match(line) or _FENCE.match(line):
            continue
        line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"(\*\*|__|`)", "", line)
        line = re.sub(r"^#{1,6}\s+", "", line)
        line = line.strip().strip("|").replace(" | ", ", ").strip()
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _headings(text: str) -> list[tuple[str, str, int]]:
    """(hashes, heading text, line number) for every ATX heading outside code fences."""
    found = []
    in_fence = False
    for number, line in enumerate(text.splitlines()):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.match(line)):
            found.append((match.group(1), match.group(2).strip(), number))
    return found


def _sections(text: str, title: str) -> list[tuple[tuple[str, ...], str]]:
    """(heading path, body) per section; the path excludes the article title."""
    lines = text.splitlines()
    sections: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    start = 0
    path: tuple[str, ...] = ()
    title_seen = False
    for hashes, heading, number in _headings(text):
        sections.append((path, "\n".join(lines[start:number])))
        start = number + 1
        if len(hashes) == 1 and heading == title and not title_seen:
            title_seen = True
            continue
        stack = [(level, name) for level, name in stack if level < len(hashes)]
        stack.append((len(hashes), heading))
        path = tuple(name for _, name in stack)
    sections.append((path, "\n".join(lines[start:])))
    return [(p, body.strip()) for p, body in sections if body.strip()]


def _split_section(body: str, options: ChunkOptions) -> list[str]:
    """Cut a section body into pieces near target size at block, then sentence boundaries."""
    total = count_words(body)
    if total <= options.max_words:
        return [body]
    units = _units(body, options.max_words)
    goal = total / math.ceil(total / options.target_words)
    pieces: list[str] = []
    current = ""
    for unit_text, joiner in units:
        size = count_words(current)
        too_big = size + count_words(unit_text) > options.max_words
        if current and (too_big or size >= goal):
            pieces.append(current)
            current = ""
        current = f"{current}{joiner}{unit_text}" if current else unit_text
    pieces.append(current)
    return pieces


def _units(body: str, max_words: int) -> list[tuple[str, str]]:
    """(text, joiner) units that may start a new chunk: list items, rows, paragraphs or,
    for an over-long paragraph, its sentences. The joiner glues a unit to its predecessor."""
    units: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", body):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if _LIST_ITEM.match(lines[0]) or lines[0].lstrip().startswith("|"):
            for i, item in enumerate(_group_items(lines)):
                units.append((item, "\n" if i else "\n\n"))
        elif count_words(block) > max_words:
            for i, sentence in enumerate(_sentences(" ".join(lines), max_words)):
                units.append((sentence, " " if i else "\n\n"))
        else:
            units.append(("\n".join(lines), "\n\n"))
    return units


def _group_items(lines: list[str]) -> list[str]:
    """Lines of a list or table grouped so continuation lines stay with their item."""
    items: list[str] = []
    for line in lines:
        starts_item = _LIST_ITEM.match(line) or line.lstrip().startswith("|")
        if starts_item or not items:
            items.append(line)
        else:
            items[-1] = f"{items[-1]}\n{line}"
    return items


def _sentences(paragraph: str, max_words: int) -> list[str]:
    """Sentences of a paragraph; a single sentence longer than max_words is cut by words,
    the only place a chunk boundary may fall mid-sentence."""
    result: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        for start in range(0, len(words), max_words):
            result.append(" ".join(words[start : start + max_words]))
    return result


def _merge_small(pieces: list[_Piece], options: ChunkOptions) -> list[_Piece]:
    """Repeatedly fold the smallest piece under min_words into its smaller neighbour
    (keeping sub-headings as lines in the text) while the result fits in max_words.
    Smallest-first keeps sizes even where a left-to-right pass strands a tiny tail."""
    pieces = list(pieces)
    stuck: set[int] = set()
    while True:
        small = [
            i
            for i, piece in enumerate(pieces)
            if count_words(piece.text) < options.min_words and id(piece) not in stuck
        ]
        if not small:
            return pieces
        index = min(small, key=lambda i: count_words(pieces[i].text))
        neighbour = _best_neighbour(pieces, index, options)
        if neighbour is None:
            stuck.add(id(pieces[index]))
            continue
        first, second = sorted((index, neighbour))
        pieces[first : second + 1] = [_join(pieces[first], pieces[second])]


def _best_neighbour(pieces: list[_Piece], index: int, options: ChunkOptions) -> int | None:
    candidates = [i for i in (index - 1, index + 1) if 0 <= i < len(pieces)]
    fitting = [
        i
        for i in candidates
        if count_words(pieces[i].text) + count_words(pieces[index].text) <= options.max_words
    ]
    return min(fitting, key=lambda i: count_words(pieces[i].text), default=None)


def _join(first: _Piece, second: _Piece) -> _Piece:
    common = _common_prefix(first.path, second.path)
    first_text = _with_headings(first, len(common))
    second_text = _with_headings(second, len(common))
    return _Piece(common, f"{first_text}\n\n{second_text}")


def _with_headings(piece: _Piece, keep: int) -> str:
    """The piece's text preceded by the headings that the merged path no longer carries.
    The article title is level 1, so the first path entry is a level-2 heading."""
    lines = [
        f"{'#' * (depth + 2)} {name}" for depth, name in enumerate(piece.path) if depth >= keep
    ]
    return "\n\n".join([*lines, piece.text])


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    length = 0
    while length < min(len(a), len(b)) and a[length] == b[length]:
        length += 1
    return a[:length]


# Elements that start a new paragraph in the extracted text.
_BLOCK_TAGS = "p div section article header footer main aside ul ol dl dt dd table blockquote hr"


class _TextExtractor(HTMLParser):
    """Collects visible text, turning headings into '#' lines and blocks into paragraphs."""

    _SKIP = frozenset({"script", "style", "head", "template", "noscript", "svg", "nav"})
    _BLOCKS = frozenset(_BLOCK_TAGS.split())

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag == "pre":
            self._pre_depth += 1
            self.parts.append("\n\n")
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "tr":
            self.parts.append("\n")
            self._cells_in_row = 0
        elif tag in ("td", "th"):
            self.parts.append(" | " if self._cells_in_row else "")
            self._cells_in_row += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
            self.parts.append("\n\n")
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        self.parts.append(data if self._pre_depth else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, with h1-h6 as Markdown headings so it chunks like
    Markdown; scripts, styles and navigation are dropped."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    # Outside <pre> whitespace is already collapsed, so at most one stray space leads a line;
    # deeper indentation belongs to preformatted text and is kept.
    lines = [
        re.sub(r"^ (?=\S)", "", line.rstrip()) for line in "".join(extractor.parts).splitlines()
    ]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
