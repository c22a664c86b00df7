"""Split the tmux manual, the SQLite FAQ, the Evolution guide, the Python FAQ, the GnuCash manual and the GNOME help into help-center articles (output is committed)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).parent
ARTICLE_WORDS = 380


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")


def tmux_articles(manual: str) -> dict[str, str]:
    sections = re.split(r"\n(?=[A-Z][A-Z ]+\n)", manual)
    articles: dict[str, str] = {}
    for section in sections:
        head, _, body = section.partition("\n")
        title = head.strip().title()
        if title in {"Name", "Synopsis", "See Also", "Authors"} or title.startswith("Tmux("):
            continue
        lines = [line.rstrip() for line in body.splitlines()]
        entries = _entries(lines)
        if entries:
            intro = _paragraphs(lines[: entries[0][0]])
            if len(" ".join(intro).split()) >= 40:
                _add(articles, f"{title}: overview", intro)
            groups: list[list[tuple[str, list[str]]]] = [[]]
            for start, end in _entry_spans(entries, len(lines)):
                name = lines[start].split()[0]
                words = sum(len(line.split()) for line in lines[start:end])
                used = sum(len(" ".join(p).split()) for _, p in groups[-1])
                if groups[-1] and used + words > ARTICLE_WORDS:
                    groups.append([])
                groups[-1].append((name, _paragraphs(lines[start:end], keep_first=True)))
            for group in groups:
                names = ", ".join(name for name, _ in group[:6])
                names += " and more" if len(group) > 6 else ""
                text = []
                for name, paragraphs in group:
                    text += [f"## {name}", *paragraphs]
                _add(articles, f"{title}: {names}", text)
        else:
            paragraphs = _paragraphs(lines)
            part: list[str] = []
            count = 1
            for paragraph in paragraphs:
                part.append(paragraph)
                if len(" ".join(part).split()) > ARTICLE_WORDS:
                    _add(articles, f"{title} (part {count})", part)
                    part, count = [], count + 1
            if part:
                _add(articles, title if count == 1 else f"{title} (part {count})", part)
    return articles


def _entries(lines: list[str]) -> list[tuple[int, int]]:
    """Indexes of lines that start a command/option entry: indented 5, followed by deeper text."""
    found = []
    for i, line in enumerate(lines[:-1]):
        if re.match(r"^ {5}\S", line):
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            if re.match(r"^ {13,}\S", nxt) and not re.match(r"^ {5}\S", lines[i - 1] if i else ""):
                found.append((i, 0))
    return found


def _entry_spans(entries: list[tuple[int, int]], end: int) -> list[tuple[int, int]]:
    starts = [i for i, _ in entries]
    return list(zip(starts, [*starts[1:], end], strict=True))


def _paragraphs(lines: list[str], keep_first: bool = False) -> list[str]:
    text = "\n".join(lines).replace("\u2010\n", "")
    out = []
    for block in re.split(r"\n\s*\n", text):
        words = " ".join(block.split())
        if words:
            out.append(words)
    if keep_first and out:
        out[0] = f"`{out[0]}`" if len(out[0]) < 200 else out[0]
    return out


def _add(articles: dict[str, str], title: str, paragraphs: list[str]) -> None:
    slug = slugify(title)
    while slug in articles:
        slug += "-2"
    articles[slug] = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"


def sqlite_faq(page: str) -> dict[str, str]:
    articles: dict[str, str] = {}
    for body in re.findall(
        r'<a name="q\d+"></a>(.*?)(?=<a name="q\d+"></a>|<hr|</body>)', page, re.S
    ):
        text = html.unescape(re.sub(r"<[^>]+>", " ", body))
        text = re.sub(r"[ \t]+", " ", text)
        question, _, answer = text.strip().partition("\n")
        question = re.sub(r"^\(\d+\)\s*", "", question.strip())
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", answer) if p.split()]
        _add(articles, question, paragraphs)
    return articles


MALLARD = "{http://projectmallard.org/1.0/}"
EVOLUTION_MIN_WORDS = 100  # shorter pages are stubs that only point elsewhere


def evolution_help(folder: Path) -> dict[str, str]:
    """One article per Mallard topic page of at least EVOLUTION_MIN_WORDS words."""
    articles: dict[str, str] = {}
    for page in sorted(folder.glob("*.page")):
        root = ET.fromstring(page.read_text(encoding="utf-8"))
        if root.get("type") != "topic" or page.stem == "credits":
            continue
        title = _inline(root.find(f"{MALLARD}title"))
        lines = _blocks(root)
        if len(" ".join(lines).split()) >= EVOLUTION_MIN_WORDS:
            articles[page.stem] = f"# {title}\n\n" + "\n\n".join(lines) + "\n"
    return articles


def _blocks(element: ET.Element, depth: int = 2) -> list[str]:
    out: list[str] = []
    for child in element:
        tag = child.tag.removeprefix(MALLARD)
        if tag == "p":
            text = _inline(child)
            if text:
                out.append(text)
        elif tag == "section":
            out.append("#" * depth + " " + _inline(child.find(f"{MALLARD}title")))
            out += _blocks(child, depth + 1)
        elif tag in {"list", "steps", "terms"}:
            items = [_item(item) for item in child.findall(f"{MALLARD}item")]
            marker = "1." if tag == "steps" else "-"
            out.append("\n".join(f"{marker} {item}" for item in items if item))
        elif tag == "table":
            rows = [
                " | ".join(_inline(cell, block=True) for cell in row.iter(f"{MALLARD}td"))
                for row in child.iter(f"{MALLARD}tr")
            ]
            out.append("\n".join(f"- {row}" for row in rows if row.strip(" |")))
        elif tag == "note":
            out += [f"Note: {line}" for line in _blocks(child, depth)]
        elif tag not in {"info", "title", "media"}:
            out += _blocks(child, depth)
    return out


def _item(item: ET.Element) -> str:
    term = _inline(item.find(f"{MALLARD}title"))
    text = _inline(item, block=True)
    return f"{term}: {text}" if term else text


def _inline(element: ET.Element | None, block: bool = False) -> str:
    if element is None:
        return ""
    tag = element.tag.removeprefix(MALLARD)
    if tag == "keyseq":
        return "+".join(_inline(key) for key in element)
    if tag == "guiseq":
        return " > ".join(_inline(gui) for gui in element)
    if tag == "media" or (tag == "title" and block):
        return ""
    parts = [element.text or ""]
    for child in element:
        text = _inline(child, block)
        parts.append(f" {text} " if block and child.tag.endswith("}p") else text)
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def write(folder: Path, articles: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for slug, text in articles.items():
        (folder / f"{slug}.md").write_text(text, encoding="utf-8")


def main() -> None:
    if sys.argv[1] == "--debian-faq":  # one set alone: split_sources.py --debian-faq FAQ_DIR
        write(HERE / "debian_faq", debian_faq(Path(sys.argv[2])))
        return
    if sys.argv[1] == "--gnome-help":  # this set alone: --gnome-help GNOME_HELP_DIR
        write(HERE / "gnome_help", gnome_help(Path(sys.argv[2])))
        return
    manual = subprocess.run(
        "MANWIDTH=100 man tmux | col -bx", shell=True, check=True, capture_output=True, text=True
    ).stdout
    write(HERE / "tmux", tmux_articles(manual))
    write(HERE / "sqlite_faq", sqlite_faq(Path(sys.argv[1]).read_text(encoding="utf-8")))
    write(HERE / "evolution", evolution_help(Path(sys.argv[2])))
    write(HERE / "python_faq", python_faq(Path(sys.argv[3])))
    write(HERE / "gnucash", gnucash_help(Path(sys.argv[4])))


# A leaf question: its section, an optional anchor, its heading, and the answer up to the next section.
PYTHON_FAQ_SECTION = re.compile(
    r'<section id="([^"]+)">\s*(?:<span id="[^"]*"></span>\s*)*<h[2-6]>(.*?)</h[2-6]>'
    r"(.*?)(?=<section id=|</section>)",
    re.S,
)
PYTHON_FAQ_BLOCK_END = re.compile(r"</(?:p|li|dt|dd)>|<br\s*/?>")


def python_faq(folder: Path) -> dict[str, str]:
    """One article per question of the Sphinx HTML pages in html/faq (the index page left out)."""
    articles: dict[str, str] = {}
    for page in sorted(folder.glob("*.html")):
        if page.stem == "index":
            continue
        for anchor, heading, body in PYTHON_FAQ_SECTION.findall(page.read_text(encoding="utf-8")):
            paragraphs = _python_faq_paragraphs(body)
            if not paragraphs:
                continue  # a group heading such as "General Questions"
            title = " ".join(_html_text(heading).split())
            # Sphinx numbers an anchor that would repeat another ("id1" for "... in C++?" after
            # "... in C?"): name it after its title, where "++" would vanish.
            slug = (
                slugify(title.replace("C++", "Cpp")) if re.fullmatch(r"id\d+", anchor) else anchor
            )
            if slug in articles:
                slug = f"{slug}-{page.stem}"
            articles[slug] = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
    return articles


def _python_faq_paragraphs(body: str) -> list[str]:
    """Prose blocks as single lines; code examples kept as fenced blocks."""
    out = []
    for block in re.split(r"(<pre>.*?</pre>)", body, flags=re.S):
        if block.startswith("<pre>"):
            out.append("```\n" + _html_text(block).strip("\n") + "\n```")
        else:
            out += [" ".join(_html_text(p).split()) for p in PYTHON_FAQ_BLOCK_END.split(block)]
    return [p for p in out if p.strip()]


def _html_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\u00b6", "")


GNUCASH_MIN_WORDS = 100
XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


def gnucash_help(folder: Path) -> dict[str, str]:
    """One article per DocBook sect1 (a page in the help viewer) of at least GNUCASH_MIN_WORDS words."""
    entities = _docbook_entities(folder)
    articles: dict[str, str] = {}
    for chapter in sorted(folder.glob("ch_*.xml")):
        text = re.sub(r"<!DOCTYPE[^>]*>", "", chapter.read_text(encoding="utf-8"))
        text = re.sub(r"&([\w.-]+);", lambda m: _entity(m.group(1), entities), text)
        for sect1 in ET.fromstring(text).iter("sect1"):
            lines = _docbook_blocks(sect1)
            if len(" ".join(lines).split()) >= GNUCASH_MIN_WORDS:
                title = _docbook_inline(sect1.find("title"))
                _add(articles, title, lines)
    return articles


def _docbook_entities(folder: Path) -> dict[str, str]:
    """General and parameter entities of the manual's own DTDs, expanded."""
    declared: dict[str, str] = {}
    for dtd in folder.glob("gnc-*.dtd"):
        found = re.findall(r'<!ENTITY\s+(?:%\s+)?([\w.-]+)\s+"([^"]*)"', dtd.read_text())
        for name, value in found:
            declared.setdefault(name, value)
    for _ in range(3):  # menu entities nest up to three deep
        declared = {name: _expand(value, declared) for name, value in declared.items()}
    return declared


def _expand(value: str, entities: dict[str, str]) -> str:
    return re.sub(r"[%&]([\w.-]+);", lambda m: _entity(m.group(1), entities), value)


def _entity(name: str, entities: dict[str, str]) -> str:
    if name in XML_ENTITIES:
        return f"&{name};"
    if name in entities:
        return entities[name]
    return html.escape(html.unescape(f"&{name};"))


def _docbook_blocks(element: ET.Element, depth: int = 2) -> list[str]:
    out: list[str] = []
    for child in element:
        tag = child.tag
        if tag in {"para", "simpara", "screen", "programlisting"}:
            nested = [c for c in child if c.tag in {"itemizedlist", "orderedlist", "variablelist"}]
            text = _docbook_inline(child, skip=nested)
            if text:
                out.append(text)
            for block in nested:
                out += _docbook_list(block)
        elif tag.startswith("sect") or tag == "section":
            out.append("#" * depth + " " + _docbook_inline(child.find("title")))
            out += _docbook_blocks(child, depth + 1)
        elif tag in {"itemizedlist", "orderedlist", "variablelist", "procedure"}:
            out += _docbook_list(child)
        elif tag in {"table", "informaltable"}:
            rows = [" | ".join(_docbook_inline(e) for e in row) for row in child.iter("row")]
            out.append("\n".join(f"- {row}" for row in rows if row.strip(" |")))
        elif tag in {"note", "tip", "warning", "important", "caution"}:
            out += [f"Note: {line}" for line in _docbook_blocks(child, depth)]
        elif tag not in {"title", "figure", "screenshot", "mediaobject", "indexterm", "sect1info"}:
            out += _docbook_blocks(child, depth)
    return out


def _docbook_list(element: ET.Element) -> list[str]:
    marker = "1." if element.tag in {"orderedlist", "procedure"} else "-"
    items = []
    for item in element:
        if item.tag == "varlistentry":
            term = _docbook_inline(item.find("term"))
            items.append(f"{term}: {' '.join(_docbook_blocks(item.find('listitem') or item))}")
        elif item.tag in {"listitem", "step"}:
            items.append(" ".join(_docbook_blocks(item)))
    return ["\n".join(f"{marker} {' '.join(i.split())}" for i in items if i.strip())]


def _docbook_inline(element: ET.Element | None, skip: list[ET.Element] | None = None) -> str:
    if element is None:
        return ""
    parts = [element.text or ""]
    for child in element:
        if child not in (skip or []) and child.tag not in {"indexterm", "footnote", "remark"}:
            # The source often runs a menu path into the words around it.
            if child.tag == "menuchoice":
                parts.append(" " + " > ".join(_docbook_inline(c) for c in child) + " ")
            else:
                parts.append(_docbook_inline(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


# A numbered section's heading ("2.3. What is the latest version of Debian?"); chapters are <h1>.
DEBIAN_FAQ_HEADING = re.compile(r'<h([2-6]) class="title"><a id="[^"]+"></a>(.*?)</h\1>', re.S)
DEBIAN_FAQ_FOOTNOTE = re.compile(r'<a href="#ftn\.([^"]+)" class="footnote".*?</a>', re.S)
DEBIAN_FAQ_MIN_WORDS = 15  # shorter answers only point elsewhere


def debian_faq(folder: Path) -> dict[str, str]:
    """One article per question of the Debian FAQ's DocBook HTML chapters (`*.en.html`).

    A numbered section whose title asks something is a question; a section that does not ask
    (a tool's name, "Mailing lists") stays in the answer of the question around it. The
    chapter, and the question a nested one belongs to, go into a first line as context.
    """
    articles: dict[str, str] = {}
    for page in sorted(folder.glob("*.en.html")):
        if page.name == "index.en.html":
            continue  # the title page and the table of contents
        text = page.read_text(encoding="utf-8")
        chapter = re.search(r'<h1 class="title">.*?</a>Chapter\s\d+\.\s(.*?)</h1>', text, re.S)
        assert chapter, page
        body, _, notes = text.partition('<div class="footnotes">')
        body = body.partition('<div class="navfooter">')[0]
        footnotes = dict(
            re.findall(r'<div id="ftn\.([^"]+)" class="footnote">(.*?)</div>', notes, re.S)
        )
        questions: list[tuple[str, list[str]]] = []
        open_sections: list[tuple[int, str, list[str] | None]] = []  # level, title, answer
        headings = list(DEBIAN_FAQ_HEADING.finditer(body))
        for heading, after in zip(headings, [*headings[1:], None], strict=True):
            level = int(heading.group(1))
            title = " ".join(_html_text(heading.group(2)).split()).partition(" ")[2]
            while open_sections and open_sections[-1][0] >= level:
                open_sections.pop()
            own = body[heading.end() : after.start() if after else len(body)]
            paragraphs = _debian_faq_paragraphs(own, footnotes)
            if "?" in title:
                asked_in = [t for _, t, answer in open_sections if answer is not None]
                context = " > ".join(
                    [" ".join(_html_text(chapter.group(1)).split()), *asked_in[-1:]]
                )
                answer = [f"Chapter: {context}", *paragraphs]
                questions.append((title, answer))
                open_sections.append((level, title, answer))
            else:
                around = [a for _, _, a in open_sections if a is not None]
                if around:  # sections that ask nothing outside a question are left out
                    around[-1] += [f"## {title}", *paragraphs]
                open_sections.append((level, title, None))
        for title, answer in questions:
            if len(" ".join(answer[1:]).split()) >= DEBIAN_FAQ_MIN_WORDS:
                _add(articles, title, answer)
    return articles


def _debian_faq_paragraphs(fragment: str, footnotes: dict[str, str]) -> list[str]:
    """Blocks as lines, the screen examples fenced, a footnote's text after the answer."""
    cited = DEBIAN_FAQ_FOOTNOTE.findall(fragment)
    fragment = DEBIAN_FAQ_FOOTNOTE.sub("", fragment)
    paragraphs = _python_faq_paragraphs(re.sub(r"<pre [^>]*>", "<pre>", fragment))
    for note in cited:
        text = re.sub(r'<sup class="para">.*?</sup>', "", footnotes[note])
        paragraphs += [f"Note: {p}" for p in _python_faq_paragraphs(text)]
    return paragraphs


MALLARD_IF = "{http://projectmallard.org/if/1.0/}"


def gnome_help(folder: Path) -> dict[str, str]:
    """GNOME's desktop help like the Evolution guide, shown as on the standard GNOME desktop."""
    articles: dict[str, str] = {}
    for page in sorted(folder.glob("*.page")):
        root = ET.fromstring(page.read_text(encoding="utf-8"))
        if root.get("type") != "topic":
            continue
        _resolve_conditions(root)
        title = _inline(root.find(f"{MALLARD}title"))
        lines = _blocks(root)
        if len(" ".join(lines).split()) >= EVOLUTION_MIN_WORDS:
            articles[page.stem] = f"# {title}\n\n" + "\n\n".join(lines) + "\n"
    return articles


def _resolve_conditions(element: ET.Element) -> None:
    """Keep what the help viewer shows on plain GNOME (not GNOME Classic, no install buttons,
    no editors' comments)."""
    index = 0
    while index < len(element):
        child = element[index]
        test = child.get(f"{MALLARD_IF}test")
        if child.tag == f"{MALLARD}comment":
            _replace(element, index, None)
        elif child.tag == f"{MALLARD_IF}choose":
            _replace(element, index, _chosen(child))
        elif child.tag == f"{MALLARD_IF}if":
            _replace(element, index, child if _passes(child.get("test", "")) else None)
        elif test is not None and not _passes(test):
            _replace(element, index, None)
        else:
            _resolve_conditions(child)
            index += 1


def _chosen(choose: ET.Element) -> ET.Element | None:
    """The first passing if:when, else if:else; some pages put the default straight in if:choose."""
    whens = [branch for branch in choose if branch.tag == f"{MALLARD_IF}when"]
    passing = next((when for when in whens if _passes(when.get("test", ""))), None)
    if passing is None:
        passing = choose.find(f"{MALLARD_IF}else")
    if passing is not None:
        return passing
    default = ET.Element(f"{MALLARD_IF}else")
    default.extend(branch for branch in choose if branch.tag != f"{MALLARD_IF}when")
    return default


def _replace(parent: ET.Element, index: int, kept: ET.Element | None) -> None:
    """Put the content of `kept` (or nothing) in place of parent[index], keeping the text around it."""
    old = parent[index]
    children = [] if kept is None else list(kept)
    lead = "" if kept is None else kept.text or ""
    tail = old.tail or ""
    parent.remove(old)
    if not children:
        lead += tail
    elif tail:
        children[-1].tail = (children[-1].tail or "") + tail
    if index:
        parent[index - 1].tail = (parent[index - 1].tail or "") + lead
    else:
        parent.text = (parent.text or "") + lead
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)


def _passes(test: str) -> bool:
    """Mallard's test: any space-separated condition, each all of its comma-separated tokens;
    only negated tokens hold, as none of the platforms or actions named applies."""
    return any(
        all(token.startswith("!") for token in condition.split(",")) for condition in test.split()
    )


if __name__ == "__main__":
    main()
