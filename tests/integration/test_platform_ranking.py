"""A question about a platform ranks the article that names it above its twins for the other
platforms (answer_types.PLATFORM_MATCH_BONUS), through the database and the real model."""

from __future__ import annotations

import pytest

from server.actions import knowledge as actions
from server.actions.knowledge import KnowledgeBase
from server.assistant.retrieval import Retriever
from server.core.knowledge import ArticleDraft
from tests.integration.conftest import RecordingEmbedder

# Help centers often hold one article per platform, worded almost alike: dense and lexical
# scores barely tell them apart, and the installer's own words can favour the wrong twin.
TWINS = {
    "install-windows": (
        "Install the desktop app on Windows",
        "Download the installer from your account page and run it. The app starts when you"
        " sign in to your computer. To update, download the latest installer and run it again;"
        " your settings are kept.",
    ),
    "install-mac": (
        "Install the desktop app on macOS",
        "Download the installer from your account page and open it. Drag the app to"
        " Applications. To update, download the latest installer and open it again; your"
        " settings are kept.",
    ),
    "install-linux": (
        "Install the desktop app on Linux",
        "Download the package from your account page and install it with your package"
        " manager. To update, download the latest package and install it again; your settings"
        " are kept.",
    ),
}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Both went to another twin before the bonus (by 0.001 and 0.002).
        ("where is the installer to update the app on debian", "install-linux"),
        ("run the installer on my macbook again", "install-mac"),
        ("how do I update the app on my windows laptop", "install-windows"),
    ],
)
async def test_the_twin_that_names_the_platform_comes_first(
    kb: KnowledgeBase, recorder: RecordingEmbedder, question: str, expected: str
) -> None:
    for slug, (title, text) in TWINS.items():
        await actions.upsert_article(kb, ArticleDraft(slug, title, text))
    found = await Retriever(kb.db, recorder).retrieve(question)
    assert found.articles[0].slug == expected
    assert {a.slug for a in found.articles} == set(TWINS)
