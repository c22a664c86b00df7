"""Questions whose answer must show in the passages: money for a price, the platform asked about,
and the claims only the help center itself can make (help_center_claims.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .help_center_claims import missing_claim

# A question about what something costs, a refund or a discount ("how much does the enterprise
# plan cost", "can I get a refund", "was kostet"). Deliberately narrow: "how much storage" or
# "what licence is it under" are not about money, and "plan" or "subscription" alone name
# features as often as prices ("subscribe to a calendar").
_ASKS_ABOUT_MONEY = re.compile(
    r"\b(?:prices?|priced|pricing|costs?|costing|refunds?|refunded|discounts?|coupons?|fees?"
    # a charge for money, not a battery's ("how do I charge my headphones")
    r"|(?:you|they|we) charge|charge (?:me|my card|for)|charges (?:on|for)|overcharged"
    r"|(?:a|any|extra|additional|hidden|service|monthly|late|no|these) charges?"
    r"|(?:was|were|been|being|get|got|am) (?:double |over)?charged|charged (?:twice|me|my|for)"
    r"|money back|pay for|paying for|cheaper|expensive"
    r"|preis|preise|kosten|kostet|rückerstattung|rueckerstattung|erstattung|rabatt|gebühr"
    r"|gebühren|gebuehr|precio|precios|cuesta|cuestan|costo|coste|reembolso|descuento|tarifa)\b",
    re.IGNORECASE,
)
# Whether something costs anything at all: a trial, a free plan, free shipping or parking.
# Only whether there is one or whether it is free: "how do I cancel my free trial" or "what's in
# the free plan" ask what it does, and their answers name no money. "Free" as available (a seat,
# a username, a person "free tomorrow") asks no price either.
_FREE_THINGS = (
    r"(?:trials?|plans?|tiers?|versions?|editions?|accounts?|options?|shipping|delivery"
    r"|returns?|parking|wi-?fi|updates?|upgrades?|cancellations?|consultations?|samples?"
    r"|lessons?)"
)
_AVAILABLE = (
    r"(?:seats?|rooms?|slots?|tables?|desks?|spots?|places?|times?|dates?|days?|user ?names?"
    r"|names?|handles?|domains?|emails?|address(?:es)?|urls?|lines?|courts?|lanes?|beds?"
    r"|he|she|you|we|i|someone|anyone|anybody|somebody|everyone|agents?|doctors?|hosts?"
    r"|teachers?|tutors?|drivers?|staff|team)"
)
_ASKS_IF_FREE = re.compile(
    r"\b(?:(?:is there|are there|do you (?:have|offer|do)|does it (?:have|come with)"
    rf"|can (?:i|we) (?:get|have)|do (?:i|we) get|any) (?:a |an |any )?(?:free {_FREE_THINGS}"
    r"|trials?|trial (?:period|version|account))"
    r"|how long (?:is|does|lasts?) (?:the|a|your) (?:free )?trial"
    # "is shipping free", "are software updates free", not "is the seat free", "is the room
    # free tomorrow" nor "is the free plan limited to 3 users"
    rf"|(?:is|are) (?!(?:\w+ ){{0,2}}?{_AVAILABLE} |(?:the|a|an|this|that|your|my|our) free\b)"
    r"(?:(?:the|this|that|your|these|those) )?"
    r"(?:\w+ )?\w+ (?:really |completely |totally |actually )?free"
    r"(?! (?:of|from|up|at (?:\d|noon|night|lunch)|between|until|till|today|tonight|tomorrow"
    r"|now|later|next|this|(?:in|on) the (?:morning|afternoon|evening)"
    r"|on (?:mon|tue|wed|thu|fri|sat|sun)\w*|on weekends?|to (?:talk|chat|meet))\b)|for free"
    # German and Spanish: the same, whether it is free or there is one
    r"|(?:ist|sind) (?:\w+ ){0,3}?(?:kostenlos|gratis|umsonst)|gibt es (?:\w+ )?(?:kostenlos\w*"
    r"|gratis) ?\w+|gibt es (?:eine |einen )?(?:testphase|probezeitraum|testversion)"
    r"|(?:kostenlos|gratis|umsonst) (?:nutzen|testen|verwenden|spielen|ausprobieren)"
    r"|(?:es|son) (?:\w+ ){0,2}?(?:gratis|gratuit[oa]s?)|(?:hay|tienen|ten[eé]is|ofrecen|existe)"
    r" (?:una? )?(?:prueba|versi[oó]n|plan|cuenta|env[ií]o|devoluci[oó]n)"
    r" (?:gratuit[oa]|gratis))",
    re.IGNORECASE,
)
# A passage that talks about money: an amount, a currency, a price, a bill, a payment. Only
# words that mean money wherever they stand: "plan", "subscription", "licence", "pay" and
# "seat" do not ("calendar subscriptions", "pay attention", "plan a meeting").
_MENTIONS_MONEY = re.compile(
    r"[$€£¥₹]\s?\d|\d\s?[$€£¥₹]|\d\s?%\s?off\b"
    r"|\d\s?(?:usd|eur|gbp|chf|cad|aud|mxn|inr|dollars?|euros?|cents?)\b"
    r"|\b(?:usd|eur|gbp|chf|cad|aud|mxn|inr)\s?\d"
    r"|\b(?:prices?|priced|pricing|costs?|refunds?|refunded|discounts?|coupons?|fees?"
    r"|billing|billed|invoices?|invoiced|payments?|paid|purchases?|purchased|free of charge"
    r"|charges?|charged|prorated|proration"
    # the question's own words ("expensive queries" answers "how do I find expensive queries")
    r"|costing|overcharged|money back|pay for|paying for|cheaper|expensive"
    # "free" where it can mean no money: not "feel free", "free up space", "free/busy" (a host
    # who "is free" slips through: a passage matched wrongly only keeps the score unlowered)
    r"|(?:is|are|it's|stays?|always|completely|for) free\b(?!/)"
    r"|free (?:to (?:download|use|install)|plan|tier|trial|version|for (?:up to|the first|all"
    r"|everyone|\d))|no cost|kostenlos\w*|prueba gratuita"
    r"|per (?:month|year|user|seat)|preis|preise|kosten|kostet|kostenlos|gratis|umsonst"
    r"|gebühr|gebühren|gebuehr|gebuehren|rabatt|rabatte|erstattung|rückerstattung"
    r"|rueckerstattung|erstattet|rechnung|rechnungen|abrechnung|zahlung|zahlungen|bezahlt"
    r"|precio|precios|cuesta|cuestan|costo|coste|costes|descuento|descuentos|tarifa|tarifas"
    r"|gratuito|gratuita|factura|facturas|pago|pagos|reembolso|reembolsos)\b",
    re.IGNORECASE,
)

# What answers whether something is free, in a help center's own words (wide: it is read only
# for a question that asks whether something is free): "free" itself, "included",
# "complimentary", "on us", "costs nothing", a trial of so many days, an open-source licence,
# a cost covered by insurance.
_MENTIONS_NO_COST = re.compile(
    r"(?<!feel )\bfree\b(?!/| up\b| of (?!charge))|\b(?:complimentary|included|includes?"
    r"|comes? with|on us|no (?:extra |additional )?(?:cost|charge|card|credit card)"
    r"|(?:costs?|pay) nothing|nothing to pay|without (?:paying|charge|a card)|trials?"
    r"|evaluat\w*|try\w*|\d+[- ]days?|open[- ]source|covered"
    r"|kostenfrei|versandkostenfrei|inklusive|inbegriffen|enthalten|ohne (?:aufpreis|kosten)"
    r"|(?:kostet|zahlst|zahlen sie) nichts|testphase|test\w*|probier\w*|incluid[oa]s?"
    r"|sin (?:coste|costo|cargo|tarjeta)|no tiene (?:coste|costo)|prueba|prob(?:ar|arlo)\w*"
    r"|\d+ d[ií]as)\b",
    re.IGNORECASE,
)


# A question about one platform ("is there an android app", "does it run on Windows 11"): a
# passage that answers it names that platform. Each entry: the question's words for it, and
# what counts as naming it in a passage. "Windows" the system is written with a capital and
# asked about "on"/"for" it, or with a version ("Windows 11"); "open it in a new window" is not.
_WINDOWS_SYSTEM = re.compile(
    r"\bwindows (?:\d+|pc|laptop|computer|machine|version|xp|vista)\b", re.IGNORECASE
)
_WINDOWS_NAMED = re.compile(r"\b(?:Windows|win32|PCs?|Microsoft Store|MSI)\b|\.(?:exe|msi)\b")
# "on/for windows" in lower case with no version or computer beside it may be the glass ("is
# the sealant safe for windows?"): a passage that speaks of windows in any case answers it.
_ANY_WINDOWS = re.compile(r"\bwindows\b", re.IGNORECASE)


# Where data may be hosted, as a question names it ("stored in the EU", "hosted in Canada").
_REGIONS = (
    r"(?:eu|european union|europe|us|usa|united states|uk|united kingdom|germany|canada"
    r"|australia|switzerland|france|india|japan|asia)"
)


class _Platform(NamedTuple):
    asked: re.Pattern[str]  # the question's words for it
    named: re.Pattern[str]  # what names it in a passage
    # What also names it when the question may mean something else (None: nothing)
    loosely_named: re.Pattern[str] | None = None

    def named_in(self, question: str, passage: str) -> bool:
        if self.named.search(passage):
            return True
        loose = self.loosely_named
        return loose is not None and _maybe_glass(question) and loose.search(passage) is not None


_PLATFORMS = (
    _Platform(
        re.compile(
            r"\b(?:iphone|ipad|ios|android|smartphone|phone app|tablet (?:app|version)"
            r"|mobile (?:app|version|device|phone|browser)"
            r"|(?:on|for) (?:my |a |an )?(?:phone|mobile|tablet)s?)\b"
            # "on the phone" is a call; a phone or mobile number, bill or plan is no app
            r"(?! (?:number|no\b|bill|plan|contract))",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:iphone|ipad|ios|android|mobile|smartphones?|phones?|tablets?|app store"
            r"|google play|handy"
            # a touch screen's steps, a text message
            r"|tap|taps|tapping|sms|text messages?"
            r"|mobiltelefon\w*|telefon\w*|mobilgerät\w*|móvil(?:es)?|movil(?:es)?|celular(?:es)?"
            r"|teléfonos?|telefonos?|tabletas?)\b",
            re.IGNORECASE,
        ),
    ),
    _Platform(
        re.compile(rf"\b(?:on|for|under) windows\b|{_WINDOWS_SYSTEM.pattern}", re.IGNORECASE),
        _WINDOWS_NAMED,
        _ANY_WINDOWS,
    ),
    _Platform(
        re.compile(
            r"\b(?:macos|mac os|os x|macbook|imac|(?:on|for|with) (?:a |my |the )?mac)\b"
            r"(?! address)",
            re.IGNORECASE,
        ),
        re.compile(r"\b(?:mac|macs|macos|os x|apple|macbook|imac)\b", re.IGNORECASE),
    ),
    _Platform(
        re.compile(
            r"\b(?:on|for|under) linux\b|\b(?:ubuntu|debian|fedora|linux (?:version|desktop"
            r"|app|machine|computer|laptop|pc))\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:linux|ubuntu|debian|fedora|unix|gnome|kde|appimage|flatpak|flathub|snap store"
            r"|snapcraft)\b|\.(?:deb|rpm)\b",
            re.IGNORECASE,
        ),
    ),
    # Ways to run it that help centers name when they exist: on one's own servers, through an
    # API, as a browser extension, without a connection. Asked only as whether there is one:
    # "my self-hosted runner", "the API key", "the extension won't load" or "the printer shows
    # offline" ask about something the customer already has, and their answers need not say
    # "self-hosted", "API", "extension" or "offline" (a passage naming the way to run it also
    # ranks higher, PLATFORM_MATCH_BONUS). A help center that answers may also say it has none
    # ("cloud only").
    _Platform(
        re.compile(
            r"\b(?:(?:can|could|how (?:do|can|to)) (?:i |we )?self[- ]?host"
            r"|(?:is (?:it|\w+)|are you) self[- ]?host(?:able|ed)"
            r"|(?:self[- ]?host(?:ed|ing)?|on[- ]prem(?:ise|ises)?)"
            r" (?:versions?|editions?|options?|plans?|deployments?|install(?:ation)?s?|offering"
            r"|solution|possible|available|supported|an option)"
            r"|(?:offer|support|allow|provide|have)s? (?:an? )?(?:self[- ]?host(?:ed|ing)"
            r"|on[- ]prem(?:ise|ises)?)(?=\W*$|\W*(?:or|version|edition|option)\b)"
            r"|(?:available|run|install|host|deploy)\w* (?:it |\w+ )?on[- ]prem(?:ise|ises)?"
            r"|(?:run|install|host|deploy) (?:it|the \w+|\w+) (?:on (?:my|our) own (?:servers?"
            r"|infrastructure|hardware)|(?:myself|ourselves)))\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:self[- ]?host\w*|on[- ]prem\w*|(?:your|my|our) own (?:servers?|infrastructure"
            r"|hardware|pc|computer|machine)|dedicated servers?|docker|kubernetes|helm chart"
            r"|install\w* (?:it |the )?(?:on (?:a|your) )?server|server (?:package|edition|image)"
            r"|community edition|cloud[- ]only"
            r"|only (?:as )?(?:a )?cloud|cloud (?:service|version|edition)"
            r"|(?:run|host)s? it for you|hosted by us)\b",
            re.IGNORECASE,
        ),
    ),
    _Platform(
        re.compile(
            r"\b(?:is there|do you (?:have|offer|provide)|does (?:it|\w+) have) (?:an? )?"
            r"(?:public |rest |open |developer )?apis?\b"
            # "is there an API key" or "an API limit" asks about a key or a limit
            r"(?![ -](?!(?:for|to|that|which|i|we|so|or|and|available|you|in|with|on|at)\b)\w)",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:apis?|rest|webhooks?|endpoints?|sdks?|developers?|graphql|openapi|swagger"
            r"|zapier|integrations?|programmatic\w*)\b",
            re.IGNORECASE,
        ),
    ),
    _Platform(
        re.compile(
            r"\b(?:is there|are there|do you (?:have|offer|make)|does (?:it|\w+) have"
            r"|can i (?:get|install|download|add)|where (?:can|do) i (?:get|find|download))"
            r" (?:an? |any |the |your )?(?:official )?(?:browser|chrome|firefox|safari|edge)"
            r" (?:extension|add-?on|plugin)s?\b",
            re.IGNORECASE,
        ),
        # an extension often goes by the browsers it is for ("the Acme button for Chrome")
        re.compile(
            r"\b(?:extensions?|add-?ons?|plugins?|chrome|firefox|safari|edge|bookmarklet)\b",
            re.IGNORECASE,
        ),
    ),
    _Platform(
        re.compile(
            r"\b(?:(?:work|works|working|use|used|usable|available|access|accessible|run|play"
            r"|read|listen|watch|edit|view|open|study|learn|write|save|record|function)"
            r"(?: \w+){0,3}? (?:offline|without (?:an? )?(?:internet|connection|network|wi-?fi"
            r"|signal|data)|in (?:airplane|flight) mode)"
            r"|offline (?:mode|access|use|usage|support|version|editing|reading|playback|maps?"
            r"|listening|viewing))\b",
            re.IGNORECASE,
        ),
        # what a device does while it has no connection: downloads, a cache, a later sync
        re.compile(
            r"\b(?:offline|without (?:an? )?(?:internet|connection|network|wi-?fi|signal|data)"
            r"|(?:airplane|flight) mode|no (?:internet|connection|network|wi-?fi|signal)"
            r"|disconnected|cached|locally|download\w*|sync\w* (?:later|when|once|again"
            r"|automatically|back)|loses? (?:the |its |your )?(?:connection|signal|wi-?fi)"
            r"|(?:connection|signal|wi-?fi) (?:drops|is lost|goes down)|sd card|local storage)\b",
            re.IGNORECASE,
        ),
    ),
    # Where it is hosted ("are your servers in the EU", "data residency", "where is my data
    # stored"): a help center that answers names its hosting, its region, a country or a city.
    # "Do you ship to the EU" is no hosting, nor "my VMs in another data center" in a cloud
    # console.
    _Platform(
        re.compile(
            r"\b(?:data residency|(?:your|the company's) data cent(?:er|re)s?|do you (?:have|use)"
            r" (?:\w+ )?data cent(?:er|re)s|data cent(?:er|re) locations?|where (?:are|is) (?:your"
            r"|the) (?:data cent(?:er|re)s?|servers?)|(?:your|the) servers (?:located|based"
            rf"|hosted)|(?:(?:your|the) servers(?: located| based| hosted)?|hosted|stored|kept"
            rf"|(?:host|store|keep) (?:my |our |the |customer )?data) (?:in|within) (?:the )?"
            rf"{_REGIONS}(?! (?!or\b|and\b)[a-z])"
            r"|where (?:is|are) (?:my|our|the|customer|your) (?:\w+ )?data"
            r" (?:stored|hosted|kept|located|saved)(?! (?:on|in) (?:my|the|your|a) (?:computer"
            r"|device|phone|pc|mac|laptop|drive|disk|folder))|where do you (?:store|host|keep)"
            r" (?:my |our |the |customer )?(?:\w+ )?data"
            r"|wo (?:werden|sind|liegen) (?:meine|unsere|die) daten|werden (?:meine |unsere |die )?"
            r"daten in (?:der eu|deutschland|europa) gespeichert|wo stehen (?:eure|ihre) server"
            r"|d[oó]nde (?:se )?(?:almacenan|guardan|alojan|est[aá]n) (?:mis|los|sus|nuestros)"
            r" datos|(?:servidores|datos) en (?:la ue|europa))\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:data cent(?:er|re)s?|resid\w*|hosted|hosting|servers?|regions?|aws"
            r"|amazon web services|azure|google cloud|gcp|icloud|cloud|on-prem\w*|self-host\w*"
            r"|locally|on (?:your|the) (?:computer|device)|(?:stored|kept|saved|located|based)"
            r" (?:in|on|to)"
            r"|stays? in|never leaves?|eu|ue|european union|europe|europa|frankfurt|ireland"
            r"|germany|deutschland|usa|united states|u\.s\.|virginia|oregon|ohio|iowa|canada"
            r"|toronto|montreal|uk|united kingdom|london|australia|sydney|switzerland|zurich"
            r"|france|paris|netherlands|amsterdam|sweden|stockholm|japan|tokyo|singapore|india"
            r"|mumbai|gespeichert|liegen|servidores|almacenad\w*|alojad\w*|guardan)\b",
            re.IGNORECASE,
        ),
    ),
)


def asks_about_money(question: str) -> bool:
    return _ASKS_ABOUT_MONEY.search(question) is not None or _asks_if_free(question)


def _asks_if_free(question: str) -> bool:
    return _ASKS_IF_FREE.search(question) is not None


def _mentions_money(question: str, passage: str) -> bool:
    if _MENTIONS_MONEY.search(passage):
        return True
    return _asks_if_free(question) and _MENTIONS_NO_COST.search(passage) is not None


def missing_evidence(question: str, passages: Iterable[str]) -> str | None:
    """The kind of answer the question asks for that none of the passages can give: "company",
    "compliance", "contact" or "writing" when it asks for a claim of that kind
    (help_center_claims.py) and no passage speaks of it, "price" when it asks what something
    costs and no passage mentions money, "platform" when it asks about a platform (a phone,
    Windows, a Mac, Linux) that no passage names. None otherwise."""
    shown = list(passages)
    claim = missing_claim(question, shown)
    if claim is not None:
        return claim
    if asks_about_money(question) and not any(_mentions_money(question, p) for p in shown):
        return "price"
    for platform in _PLATFORMS:
        if platform.asked.search(question) and not any(
            platform.named_in(question, p) for p in shown
        ):
            return "platform"
    return None


# A passage that names the platform the question asks about ("install it on my macbook":
# "Install on macOS") ranks this much above its twins for the other platforms, which dense
# and lexical scores barely tell apart (docs/retrieval.md, "Version 8").
PLATFORM_MATCH_BONUS = 0.05


def platform_matches(question: str, passages: Sequence[str]) -> list[bool]:
    """For each passage, whether it names a platform the question asks about (all False when
    the question asks about none)."""
    asked = [platform for platform in _PLATFORMS if platform.asked.search(question)]
    if not asked:
        return [False] * len(passages)
    return [any(platform.named_in(question, text) for platform in asked) for text in passages]


def _maybe_glass(question: str) -> bool:
    return "Windows" not in question and _WINDOWS_SYSTEM.search(question) is None
