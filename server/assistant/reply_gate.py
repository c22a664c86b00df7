"""Which parts of a model's streamed reply may reach the customer: checked whole sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .grounding import grounded
from .prompts import NO_ANSWER, cited_numbers, says_it_does_not_know
from .retrieval import Passage

# Where a sentence ends: after [.!?] (and the citation markers that follow it) before
# whitespace, or at a line break.
_SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+\])*(?=\s)|\n")


class ReplyGate:
    """Feed it the reply as it grows; it hands back the text that passed the checks.

    Nothing passes until a sentence cites a passage that was given *and* is grounded in it
    (shares answer-bearing words with it, server.assistant.grounding); the uncited sentences
    before it ("Sure!") pass with it. A reply whose first cited sentence is not grounded is a
    hedge ("the passages do not say... [1]"): the whole reply is declined. After that, whole
    sentences pass one by one, except a cited sentence that is not grounded, which is left
    out. A reply that never cites a grounded sentence is declined when it ends.

    `phrases`: also decline on the NO_ANSWER token or an "I don't know" opening, the fallback
    for models that cannot call the decline tool.
    """

    def __init__(
        self, question: str, sources: Sequence[Sequence[Passage]], *, phrases: bool
    ) -> None:
        self._question = question
        self._texts = [" ".join(p.text for p in source) for source in sources]
        self._titles = [source[0].title for source in sources]
        self._phrases = phrases
        self._consumed = 0  # characters of the reply already judged
        self._pending = ""  # uncited sentences before the first grounded one
        self.accepted = ""  # what may be shown, in the model's own citation numbers
        self.opened = False  # a grounded, cited sentence has passed
        self.declined = False
        self.left_out = 0  # cited sentences dropped as ungrounded

    def feed(self, reply: str) -> None:
        """Judge the complete sentences of `reply` (the whole text so far) not judged yet."""
        for match in _SENTENCE_END.finditer(reply, self._consumed):
            if self.declined:
                return
            self._judge(reply[self._consumed : match.end()])
            self._consumed = match.end()

    def finish(self, reply: str) -> None:
        """The reply is complete: judge its last, unterminated sentence; decline if nothing
        grounded passed."""
        self.feed(reply)
        rest = reply[self._consumed :]
        if rest.strip() and not self.declined:
            self._judge(rest)
        self._consumed = len(reply)
        if not self.opened:
            self.declined = True

    def _judge(self, sentence: str) -> None:
        if self._phrases and (
            NO_ANSWER in sentence
            or (not self.opened and not self._pending.strip() and says_it_does_not_know(sentence))
        ):
            self.declined = True
            return
        cited = cited_numbers(sentence, len(self._texts))
        if not cited:
            if self.opened:
                self.accepted += sentence
            else:
                self._pending += sentence
            return
        if self._grounded(sentence, cited):
            self.accepted += self._pending + sentence
            self._pending = ""
            self.opened = True
        elif self.opened:
            self.left_out += 1
        else:
            self.declined = True  # it opens with a hedge

    def _grounded(self, sentence: str, cited: list[int]) -> bool:
        others = [text for n, text in enumerate(self._texts, 1) if n not in cited]
        return grounded(
            sentence,
            self._question,
            [self._texts[n - 1] for n in cited],
            others,
            [self._titles[n - 1] for n in cited],
        )
