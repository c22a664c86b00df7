"""What a customer's plain message asks of the assistant: a person, "that solved it", or
nothing to answer yet (a greeting, thanks, a plain yes or no).

Small and deliberately conservative: a false "solved" would close a conversation the customer
still needs, and a false "person" costs only a place in line, so "person" matches more freely.
Questions that merely mention agents ("how do I add an agent to my team?") must not match.
English, German and Spanish.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    HUMAN = "human"  # wants a person
    SOLVED = "solved"  # the answer solved it; nothing more
    YES = "yes"  # a plain yes (accepts an offer of a person when one was just made)
    NO = "no"  # a plain no (turns an offer down)
    GREETING = "greeting"  # hello, is anyone there, I have a question: nothing to answer yet
    THANKS = "thanks"  # thanks alone: not a question, and not "that solved it" either


_WORD_LIMIT = 14  # longer messages are questions, not requests

_ARTICLE = (
    r"(?:(?:a|an|the|some|one|your|un|una|ein|einen|einem|einer|eine|dem|den|der|ihrem|ihren) )?"
)
_REAL = r"(?:(?:real|live|actual|echte[nrm]?|echten) )?"
# Someone, in the three languages.
_SOMEONE = (
    r"(?:human|humans|person|people|agent|someone|somebody|representative|rep|operator"
    r"|staff|team member|employee|manager|supervisor|customer service|customer support"
    r"|mensch|menschen|mitarbeiter|mitarbeiterin|berater|beraterin|jemand|jemandem"
    r"|vorgesetzte|vorgesetzten|vorgesetzter|kundenservice|kundendienst"
    r"|persona|humano|agente|operador|operadora|alguien|asesor|asesora)"
)
_PERSON = rf"{_ARTICLE}{_REAL}{_SOMEONE}\b"
_HUMAN_PATTERNS = [
    # "human", "agent please", "real person!", "live agent", "bitte einen Mitarbeiter", "un humano"
    re.compile(
        rf"^(?:please |pls |bitte |por favor )?{_PERSON}(?: please| pls| now| bitte| por favor)?$"
    ),
    # "contact support", "call an agent please", "Support kontaktieren": a bare command
    re.compile(
        rf"^(?:please )?(?:contact|call|reach|ring) (?:(?:your |the )?support|{_PERSON})"
        r"(?: please| now| asap)?$"
    ),
    re.compile(
        r"^(?:bitte )?(?:den |mit dem )?(?:support|kundendienst|kundenservice)"
        r" (?:kontaktieren|anrufen)(?: bitte)?$"
    ),
    # "talk to a human", "can I speak with someone", "chat to support"
    re.compile(rf"\b(?:talk|speak|chat) (?:to|with) (?:{_PERSON}|(?:your |the )?support)"),
    # "no wait, a human please, this is urgent", "Mensch bitte, es ist dringend"
    re.compile(rf"\b{_PERSON} (?:please|pls|bitte|por favor)\b"),
    # "is there a person I can talk to", "are there any humans there", "gibt es hier einen Menschen"
    re.compile(
        rf"\b(?:is there|are there|gibt es)(?: hier| da)? (?:any )?{_ARTICLE}{_REAL}"
        r"(?:human|humans|person|agent|agents|someone|somebody|anyone|anybody|mensch|menschen"
        r"|mitarbeiter)\b"
        r"(?:$| (?:(?:i can|i could) (?:talk|speak|chat|call|ask|contact|reach)|to talk|to speak"
        r"|here|there|available|online|hier|da)\b)"
    ),
    # "is a human available?", "are any agents online", "is anyone there"
    re.compile(
        rf"^(?:is|are) (?:any )?{_ARTICLE}{_REAL}"
        r"(?:human|humans|person|people|agent|agents|someone|somebody|anyone|anybody)"
        r" (?:available|online|around|there|here)(?: now| today| right now)?$"
    ),
    # "can a human help me", "can someone from support contact me" (but not "can someone
    # help me add a user", a question for the assistant)
    re.compile(
        rf"\bcan {_ARTICLE}{_REAL}(?:human|person|agent|someone|somebody)"
        r"(?: from (?:support|your team|the team))? (?:help|assist|call|contact|email) me"
        r"(?: please| now| asap| with this| urgently)?$"
    ),
    # "could a person look at this", "can someone check my case"
    re.compile(
        rf"^(?:can|could) {_ARTICLE}{_REAL}(?:human|person|agent|someone|somebody)"
        r" (?:look at|check|review|take a look at|have a look at|look into)"
        r" (?:this|it|my (?:case|issue|problem|ticket|account))(?: please| now)?$"
    ),
    # "kann mir ein Mitarbeiter helfen", "kann mich jemand anrufen" (but not "kann mir jemand
    # helfen, mein Passwort zurückzusetzen", a question for the assistant)
    re.compile(
        rf"\bkann (?:mir |mich )?{_PERSON} (?:mir |mich )?"
        r"(?:helfen|weiterhelfen|anrufen|kontaktieren|zurückrufen|zurueckrufen)(?: bitte)?$"
    ),
    # "please have someone call me", "let an agent contact me" (not "how do I let people
    # contact me", a question about the product)
    re.compile(
        rf"^(?:(?:please|pls|can you|could you) )?(?:have|let|ask) {_PERSON}"
        r" (?:call|contact|email|phone|ring) me\b"
    ),
    # "I need help from a real person", "we'd like help from your team"
    re.compile(
        rf"\b(?:i|we) (?:need|want|would like|'d like|d like) help from "
        rf"(?:{_PERSON}|your team|the team|support)"
    ),
    # "this bot is useless", "der Bot hilft nicht": frustration with the assistant, said as
    # the whole message (not "my robot is useless on carpet", a customer's own product)
    re.compile(
        r"(?<!my )(?<!our )(?<!mein )(?<!unser )\b(?:bot|robot|chatbot|ai)\b"
        r"(?: is| isn't| is not| was)?"
        r" (?:useless|stupid|dumb|no help|not helping|not helpful|unhelpful|hopeless"
        r"|nutzlos|sinnlos|hilft nicht|hilft mir nicht)(?: at all)?$"
    ),
    # "connect me to an agent", "transfer me", "put me through to someone", "hand me over"
    re.compile(r"\b(?:connect|transfer|put|pass|hand) me(?: over)?(?: (?:to|with|through)\b|$)"),
    re.compile(r"\bescalate\b"),
    # "I want a human", "I need to talk to someone", "get me a person", "can I have an agent"
    re.compile(
        rf"\b(?:want|need|get me|give me|can i get|can i have|i'd like|i would like)"
        rf"(?: to (?:talk|speak|chat) (?:to|with))? {_PERSON}"
    ),
    # "can you get a human", "please get me an agent" (not "can you get the agent report")
    re.compile(rf"^(?:(?:can|could) you|please) get(?: me)? {_PERSON}(?: please| now)?$"),
    # "not a bot" asks for a person; "I'm not a robot" only says who is writing.
    re.compile(
        r"(?<!i'm )(?<!im )(?<!i am )\b(?:not|no) (?:a |an |the )?(?:bot|robot|machine|ai)\b"
    ),
    re.compile(r"(?<!bin )\bkein(?:en)? (?:bot|roboter|maschine|ki)\b"),
    re.compile(r"\b(?:stop|enough)\b.*\b(?:bot|robot)\b"),
    # German: "mit einem Menschen sprechen", "ich möchte einen Mitarbeiter", "echte Person"
    re.compile(rf"\bmit {_PERSON}"),
    re.compile(r"\bmit (?:dem |ihrem )?support (?:sprechen|reden|chatten)\b"),
    re.compile(
        rf"\b(?:möchte|moechte|will|brauche|hätte gern|haette gern|verbinden sie mich)"
        rf" (?:mit )?{_PERSON}"
    ),
    # Spanish: "hablar con una persona", "quiero un agente", "pásame con alguien"
    re.compile(rf"\b(?:hablar|habla|comunicarme|comunicar|pásame|pasame|contactar) con {_PERSON}"),
    re.compile(rf"\b(?:quiero|necesito)(?: hablar con)? {_PERSON}"),
]

# Words that turn "that fixed it" into a complaint or a story: "that fixed nothing", "it worked
# yesterday", "it worked before the update", "it worked at first", "it works only on wifi".
_NEGATION = re.compile(
    r"\b(not|no|never|didn'?t|doesn'?t|don'?t|isn'?t|wasn'?t|still|but|nothing|hardly|barely"
    r"|anymore|yesterday|before|earlier|until|used to|again|then|once|at first|first time"
    r"|last (week|night|time|month)|this morning|for a (while|bit|day|few|moment|minute|week)"
    r"|only|except|though|although|sometimes|temporarily|partly|partially|a bit|a little"
    r"|nicht|nichts|kein(e|en)?|noch|nein|aber|gestern|vorher|früher|frueher|wieder|nur|anfangs"
    r"|zuerst|manchmal|teilweise|nada|todavía|todavia|aún|aun|sigue|antes|ayer|pasada|solo"
    r"|sólo|a veces|otra vez|pero"
    # "that's all the info I have": the end of what the customer knows, not of the conversation
    r"|i have|i know|i can tell|info|information|details|was ich weiß|was ich weiss|lo que sé"
    r")\b|n't\b"
)
# A question after the thanks, asked without a question mark ("that worked, how do I export
# it now"): the conversation is not over.
_FOLLOW_UP = re.compile(
    r"\b(how|where|why|when|which|what about|what if|can i|could i|can you|could you|also"
    r"|another|one more|wie|wo|warum|wann|welche[nrsm]?|kann ich|cómo|como|dónde|donde"
    r"|cuándo|cuando|por qué|también|tambien|otra)\b"
)
# A question about a fix ("is this fixed in version 2?", "did that solve it?") is not a
# customer saying it is solved.
_QUESTION_START = re.compile(
    r"^(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should|ist|sind|war"
    r"|hat|haben|wird|kann|funktioniert|klappt)\b"
)
_SOLVED_PATTERNS = [
    re.compile(
        r"\b(that|this|it|you)('s| has| have| was)? ?(solved|fixed|answered|resolved|sorted)"
        r"( it| my (problem|question|issue)| that)?\b"
    ),
    re.compile(r"\b(that|this|it) (worked|works|helped|did it|did the trick)\b"),
    re.compile(r"\b(problem|issue|question) (is |was )?(solved|fixed|resolved|answered)\b"),
    re.compile(r"^(solved|fixed|resolved|all set|all good|works now|got it,? thanks?)\b"),
    re.compile(r"\bthat'?s all\b|\bthat is all\b|\bthat'?s everything\b|\bno more questions\b"),
    re.compile(r"\bthat'?s (exactly )?what i needed\b|\ball i needed\b"),
    # German
    re.compile(r"\b(das|es) hat (mir )?(geholfen|funktioniert|geklappt)\b"),
    re.compile(r"\b(problem|frage) (ist )?(gelöst|geloest|erledigt|beantwortet)\b"),
    re.compile(r"\bdas war'?s\b|\bdas wars\b|\bdas ist alles\b|\bhat sich erledigt\b"),
    # Spanish
    re.compile(
        r"\b(eso|esto) (lo |me )?(resolvió|resolvio|solucionó|soluciono|funcionó"
        r"|funciono|sirvió|sirvio|ayudó|ayudo)\b"
    ),
    re.compile(r"\b(problema|duda) (está |esta )?(resuelt[oa]|solucionad[oa])\b"),
    re.compile(r"\beso es todo\b|\bya está\b|\bya esta\b|^resuelto\b"),
]
_YES = re.compile(
    r"^(yes|yeah|yep|yup|sure|ok|okay|please|please do|yes please|ok please|go ahead|do it"
    r"|ja|ja bitte|gerne|bitte|sí|si|sí por favor|si por favor|claro|vale|por favor)$"
)


_NO = re.compile(
    r"^(?:no|nope|nah|no thanks?|no thank you|not now|not yet|nein|nein danke|no gracias"
    r"|ahora no)$"
)
# A message that opens the conversation without a question yet: a greeting, asking whether
# someone is there, announcing a question or asking for help in general, or several of these
# ("hi, is anyone there? I have a question"). Matched as the whole message only: "hi, how do
# I reset my password" and "help me export my data" are questions.
_HELLO = (
    r"(?:hi+|hello+|hey+|heya|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)"
    r"|hallo|servus|moin|guten (?:morgen|tag|abend)|gr[üu](?:ß|ss) gott|hola"
    r"|buen(?:os)? d[ií]as?|buenas(?: tardes| noches)?)"
    r"(?: there| team| everyone| all| folks| zusammen| a todos)?"
)
_ANYONE = (
    r"(?:(?:is )?(?:any ?one|any ?body|someone|somebody)(?: there| here| around| online)?"
    r"|(?:are )?you there|ist (?:da|hier) jemand|jemand (?:da|hier)|hay alguien(?: ah[ií])?)"
)
_ANNOUNCE = (
    r"(?:(?:i )?(?:have|got|'ve got|ve got) (?:a|one) (?:quick |small )?question|(?:a )?quick"
    r" question|(?:a )?question|(?:i )?need (?:some )?help|help(?: me)?|i need assistance"
    r"|(?:can|could) (?:you|someone|somebody|anyone) (?:please )?help(?: me)?(?: out)?"
    r"|ich (?:habe|hab) eine (?:kurze )?frage|(?:eine |kurze )?frage|hilfe"
    r"|ich brauche hilfe|(?:k[öo]nnen sie|kannst du|k[öo]nnt ihr) mir helfen"
    r"|tengo una (?:pregunta|duda)|una (?:pregunta|duda)|ayuda|necesito ayuda"
    r"|(?:me )?(?:puedes|puede|pueden) ayudar(?:me)?)"
)
_GREETING = re.compile(
    rf"^(?=\S)(?:{_HELLO})?(?: ?{_ANYONE})?(?: ?{_ANNOUNCE})?"
    r"(?: ?(?:please|pls|bitte|por favor))?$"
)
_THANKS = re.compile(
    r"^(?:(?:ok|okay|great|perfect|awesome|cool|nice|super|wonderful|excellent|alright"
    r"|gut|prima|vale|genial|perfecto) )?"
    r"(?:thanks?|thank you|thx|ty|tysm|cheers|many thanks|danke|danke sch(?:ö|oe)n"
    r"|dankesch(?:ö|oe)n|danke sehr|vielen dank|gracias|muchas gracias|mil gracias)"
    r"(?: (?:a lot|so much|very much|again|for (?:that|this|the help|your help)))?$"
)


def normalize(text: str) -> str:
    """Lower case, one space, no punctuation but apostrophes."""
    text = unicodedata.normalize("NFC", text).lower().replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def classify(text: str) -> Intent | None:
    """The customer's intent, or None for an ordinary question."""
    words = normalize(text)
    if not words or len(words.split()) > _WORD_LIMIT:
        return None
    if _YES.match(words):
        return Intent.YES
    if _NO.match(words):
        return Intent.NO
    if any(p.search(words) for p in _HUMAN_PATTERNS):
        return Intent.HUMAN
    if _GREETING.match(words):
        return Intent.GREETING
    if _THANKS.match(words):
        return Intent.THANKS
    if _asks(text, words):
        return None
    if any(p.search(words) for p in _SOLVED_PATTERNS) and not _NEGATION.search(words):
        return Intent.SOLVED
    return None


def is_question(text: str) -> bool:
    """Whether a customer message is something to look up, rather than a request for a person,
    "that solved it", a greeting, thanks or a plain yes or no."""
    return classify(text) is None


def questions_among(texts: list[str]) -> list[str]:
    """The customer's questions among what they wrote, or all of it when none is one (then
    what they wrote is all there is to show)."""
    return [text for text in texts if is_question(text)] or texts


def _asks(text: str, words: str) -> bool:
    """Whether the message is a question (a question mark, a question's first word, or a
    question word after the thanks)."""
    return (
        "?" in text
        or "¿" in text
        or _QUESTION_START.match(words) is not None
        or _FOLLOW_UP.search(words) is not None
    )
