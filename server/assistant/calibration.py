"""How a knowledge base's decline threshold is chosen from scored sample questions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .specificity import SPECIFICITY_WEIGHT, UNKNOWN_NAME_PENALTY

# At most this share of answerable questions may fall below the threshold: a wrong decline
# costs a customer a wait for a person, so the threshold gives way first.
MAX_ANSWERABLE_DECLINED = 0.03
# Headings are written in the knowledge base's own words, so questions made from them score
# higher than customers' questions do, and generic off-topic questions score far lower than
# near-domain ones (docs/retrieval.md, "Calibration"). Without the team's own questions the
# threshold is the measured default, raised only as far as generic off-topic questions
# that score high on this knowledge base need (by MARGIN), and never above this (the
# default + 0.07, as before the decline score gained its specificity term).
HEADINGS_CEILING = 0.57
MARGIN = 0.02
# Names the decline score (specificity.decision_score) a stored threshold applies to: another
# weight is another scale. Before it existed thresholds were on the best article's score
# alone, about 0.18 lower; "article+0.06z" (version 4) had no unknown-name term, so its
# thresholds were chosen on other scores of the questions that name something.
# The missing-evidence term (version 7) is not named: it lowers only questions about a price
# or a platform whose passages never name it, so a threshold chosen without it still
# separates the same answerable questions, and teams keep their calibration.
DECLINE_SCORE = f"article+{SPECIFICITY_WEIGHT}z-{UNKNOWN_NAME_PENALTY}name"

# Questions no help center answers; every calibration also scores these.
GENERIC_OFF_TOPIC = (
    "what's the weather going to be like tomorrow",
    "give me a recipe for chocolate chip cookies",
    "who won the football world cup in 2014",
    "what is the capital of Australia",
    "write a short poem about the ocean",
    "how tall is Mount Everest",
    "translate good morning into Spanish",
    "what is 17 times 23",
    "recommend a good science fiction novel",
    "how do I get rid of a cold quickly",
    "what time does the supermarket close on Sunday",
    "tell me a joke",
    "how many calories are in a banana",
    "best places to visit in Italy in summer",
    "how do I change a flat tyre on my bike",
    "what is the stock price of Apple today",
    "can you help me with my chemistry homework",
    "my cat keeps scratching the sofa, what should I do",
    "who painted the Mona Lisa",
    "how do I reset my bank card PIN",
    "what are the symptoms of the flu",
    "how long should I boil an egg",
    "is it going to snow this weekend",
    "what's a good name for a puppy",
)


@dataclass(frozen=True, slots=True)
class Calibration:
    threshold: float
    method: str  # "sample": the team's questions; "headings": generated from the articles
    model: str
    answerable: int
    out_of_scope: int
    answerable_declined: int
    out_of_scope_declined: int
    calibrated_at: str
    # What the threshold is compared with; a threshold stored for another score is ignored.
    decline_score: str = DECLINE_SCORE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_threshold(answerable: Sequence[float], out_of_scope: Sequence[float]) -> float:
    """The highest threshold that declines at most MAX_ANSWERABLE_DECLINED of the answerable
    scores; when the two sets do not overlap, halfway between them."""
    ranked = sorted(answerable)
    allowed = math.floor(MAX_ANSWERABLE_DECLINED * len(ranked))
    ceiling = ranked[allowed] if ranked else 0.0  # scores below the threshold are declined
    highest_off = max(out_of_scope, default=0.0)
    # Rounded down: rounding up could put the threshold above the score it must let through.
    floor = math.floor(ceiling * 1000) / 1000
    if highest_off < ceiling:
        return min(round((highest_off + ceiling) / 2, 3), floor)
    return floor


def headings_threshold(
    headings: Sequence[float], off_topic: Sequence[float], default: float
) -> float:
    """Without the team's questions: headings overstate how well customers' questions score,
    so they only cap the threshold; generic off-topic questions that score high on this
    knowledge base raise it above the default."""
    wanted = max(default, max(off_topic, default=0.0) + MARGIN)
    return round(min(wanted, choose_threshold(headings, off_topic), HEADINGS_CEILING), 3)


def heading_questions(titles: Sequence[str], headings: Sequence[str]) -> list[str]:
    """Article titles and section headings as questions, skipping generic ones."""
    seen: set[str] = set()
    questions = []
    for text in (*titles, *headings):
        key = text.strip().lower()
        if len(key.split()) < 2 or key in seen:
            continue
        seen.add(key)
        questions.append(text.strip())
    return questions
