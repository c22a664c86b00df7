"""Questions whose answer must show in the passages: money for a price, the platform asked about,
and the claims only the help center itself can make."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

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
    r"|everyone|\d))"
    r"|per (?:month|year|user|seat)|preis|preise|kosten|kostet|kostenlos|gratis|umsonst"
    r"|gebühr|gebühren|gebuehr|gebuehren|rabatt|rabatte|erstattung|rückerstattung"
    r"|rueckerstattung|erstattet|rechnung|rechnungen|abrechnung|zahlung|zahlungen|bezahlt"
    r"|precio|precios|cuesta|cuestan|costo|coste|costes|descuento|descuentos|tarifa|tarifas"
    r"|gratuito|gratuita|factura|facturas|pago|pagos|reembolso|reembolsos)\b",
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
)


# Claims only the help center itself can make: whether the product is certified or audited,
# how to reach the company by phone, facts about the company, and writing asked of the
# assistant (a poem is no support answer). A related article is no evidence for any of them:
# "have you had a security audit?" must not be answered from the article on the audit log,
# nor a phone number invented from a contact form. Each entry: the kind, the question's words
# for it, and what in a passage counts as speaking of it (deliberately wide, so that an
# answer in the help center's own words is never declined).
class _Claim(NamedTuple):
    kind: str
    asked: re.Pattern[str]
    answered: re.Pattern[str]

    def answered_in(self, question: str, passage: str) -> bool:
        if self.answered.search(passage):
            return True
        # "is the export PDF/A compliant", "is the charger CE certified": the standard itself
        # named in a passage answers it, whatever the passage calls the compliance.
        standard = _STANDARD.search(question) if self.kind == "compliance" else None
        return standard is not None and standard[1].lower() in passage.lower()


# The word before "compliant" or "certified", when it names a standard ("GDPR compliant").
_STANDARD = re.compile(
    r"(?<![\w/-])(?!(?:is|are|it|you|your|we|fully|really|still|also|the|a|an)\b)"
    r"([\w/.-]*\w)[ -](?:compliant|conformant|certified|compliance|certification)\b",
    re.IGNORECASE,
)
# A request addressed to the assistant: "write me...", "can you tell...", a sentence that
# starts with the verb. "how do I write a user story" asks about the product.
_ASKED_TO_WRITE = (
    r"(?:(?:^|[.!?]\s*)(?:please |pls |hey,? )?(?:write|compose|make up|tell|sing|generate"
    r"|create|give)(?: me| us)?|\b(?:write|compose|make up|make|tell|sing|generate|create|give)"
    r" (?:me|us)|\b(?:can|could|would|will) you (?:please )?(?:write|compose|make up|tell"
    r"|sing|generate|create|give (?:me|us)))"
)
_WRITINGS = (
    r"poems?|poetry|stor(?:y|ies)|jokes?|songs?|haikus?|limericks?|essays?|raps?|riddles?"
    r"|lyrics"
)
# The words between the request and the writing: "tell me about the story mode" or "tell me
# how many stories I can post" asks about the product, not for a story.
_BETWEEN = r"(?: (?!(?:about|how|what|which|where|when|why|who|if|whether)\b)[a-z]+)"

_CLAIMS = (
    _Claim(
        "company",
        re.compile(
            # The company's own shares: "the stock price" alone is a quote in a trading app
            # ("why is the stock price delayed"), a price typed into an accounting book or a
            # ticker added to a watch list.
            r"\b(?:(?:your|the company's) (?:stock|share) (?:price|ticker|symbol)|your ticker"
            r"|(?:stock|share) (?:price|ticker|symbol) of (?!(?:a|an|my|the|this|that|each"
            r"|every|any|our|their|these|those)\b)\w+|publicly traded|ipo"
            # a marketplace's listing is "publicly listed" too
            r"|(?:are you|company|is (?!(?:it|this|that|my|the)\b)[\w-]+) publicly listed"
            # a crowdfunding platform's rounds are the product
            r"|your (?:\w+ )?(?:funding|investment) rounds?|your investors"
            r"|who (?:are|is) your investors?"
            # "how many staff work at each location" counts the customer's own staff
            r"|how many (?:employees|staff|people) (?:do you have|does (?:your|the) (?:company"
            r"|business|team) have|work (?:at|for) (?!(?:each|every|my|our|a|an|the|once|any"
            r"|one)\b)|work there)|how big is your (?:company|team)"
            # a recruiting tool posts job openings, a school logs internships
            r"|are you hiring|(?:do you have|your) (?:any )?(?:open )?(?:job|career)"
            r" (?:openings?|opportunities|vacancies)|(?:do you have|your) (?:any )?open"
            r" (?:positions|roles)|work (?:for|at) (?:you|your company)\b"
            r"|(?:do you|does (?:your|the) company)"
            r" (?:offer|have) (?:any )?internships?|internships? (?:at|with) (?:you|your company)"
            r"|where (?:are you|is (?:your|the) company) (?:based|located|headquartered)"
            r"|where (?:is|are) your (?:offices?|headquarters|head office)"
            # "the company's CEO" in an HR or accounting tool is the customer's own company
            r"|your (?:headquarters|head office|ceo|founders?)"
            r"|(?:who|where) (?:is|are) the (?:headquarters|head office|ceo|founders?)"
            r"|who (?:founded|owns|started) (?:you|your company|the company)"
            # "who owns the company account" asks about the customer's workspace
            r"(?! (?:account|workspace|page|profile|plan|subscription|settings|data|domain"
            r"|channel|calendar|card|email|files?|folder|drive|team)s?\b)"
            r"|when (?:was (?:your|the) company|were you) (?:founded|started|established)"
            r"|how old is (?:your|the) company|(?:are you|is (?:your|the) company) (?:a )?"
            r"(?:public(?:ly held)?|private(?:ly held)?|listed) company|are you (?:owned|backed) by"
            r"|wie viele mitarbeiter (?:habt ihr|haben sie|hat (?:ihre|eure) firma)"
            r"|(?:habt ihr|haben sie|gibt es bei (?:euch|ihnen)) (?:\w+ )?(?:offene stellen"
            r"|stellenangebote|jobs)|stellt ihr (?:gerade )?ein"
            r"|wo (?:sitzt|seid) ihr|wo (?:ist|liegt) (?:euer|ihr) (?:firmensitz|hauptsitz|sitz"
            r"|büro|buero)|wer ist euer (?:ceo|chef|geschäftsführer|gründer)"
            # "¿cuántos empleados puedo añadir?" counts the customer's own employees
            r"|cu[aá]ntos empleados (?:tienen|ten[eé]is|tiene (?:su|la) empresa|trabajan (?:en"
            r"|para) (?:ustedes|vosotros|su empresa))|(?:tienen|ten[eé]is) (?:\w+ )?(?:ofertas"
            r" de (?:trabajo|empleo)|vacantes)|est[aá](?:n|is) contratando"
            r"|d[oó]nde est[aá] (?:su|vuestra) (?:sede|oficina)|d[oó]nde (?:est[aá]n|est[aá]is)"
            r" (?:ubicad|situad)[oa]s|qui[eé]n es (?:el|su) (?:ceo|fundador))\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:stocks?|shares|shareholders?|share prices?|per share|valuations?|investors?"
            # "raised" only as money: a rate limit "can be raised in your contract"
            r"|invest(?:ed|ing|ments?)|ipo|nasdaq|nyse|stock exchange|ticker|funding|funded"
            r"|raised (?:[$€£]|\d|(?:a |an |its |our )?(?:seed|series|funding|money|capital))"
            r"|bootstrapped"
            r"|employees|staff|headcount|team of \d+|\d+ (?:people|employees)|\d+-person"
            r"|hiring|jobs|careers?|karriere\w*|vacanc(?:y|ies)|vacantes?|open positions"
            r"|join (?:us|our team)|headquarter(?:s|ed)|head office|\w+-based|based (?:in|out of)"
            r"|located (?:in|at)|offices? (?:is |are )?(?:in|at)|our address|visit us|find us"
            r"|(?:store|shop|warehouse|pharmacy|clinic|branch)(?:es|s)? (?:is|are) (?:in|at|on)"
            r"|founded|co-?founders?|founders?|established|started in \d{4}|since \d{4}"
            r"|ceo|mitarbeiter\w*|stellen\w*|gegründet|seit \d{4}|(?:firmen|haupt)?sitz"
            r"|empleados|empleo|fundad[ao]|desde \d{4}|sede|ubicad[oa]s?|oficinas?)\b",
            re.IGNORECASE,
        ),
    ),
    _Claim(
        "compliance",
        re.compile(
            # "my certifications" are the customer's own, as "my phone number" is, and a
            # certified translation or installer is what the customer asks for
            r"\b(?:compliant|compliance|certified(?! (?:translations?|cop(?:y|ies)|mail|letters?"
            r"|checks?|cheques?|installers?|technicians?|electricians?|repair)\b)"
            r"|(?<!my )certifications?|accredited|accreditation"
            # "security testing" in a developer tool is a pipeline step, and "audited periods"
            # in accounting software are locked books: only the product's own audit counts
            r"|(?:security|penetration|pen|third[- ]party|independent|external) audits?"
            r"|(?:third[- ]party|independent|external) testing|(?:third[- ]party|independently)"
            r" tested|pen(?:etration)?[ -]?test(?:s|ed|ing)?"
            r"|(?:you|your \w+|it|the (?:app|platform|product|service|code|software))"
            r" (?:\w+ ){0,2}?audited|has [\w-]+ (?:ever )?been audited"
            # a GDPR request is a customer's data to export or delete, not a claim
            r"|(?:gdpr|dsgvo|rgpd)(?![ -](?:(?:data |deletion |erasure |access )?requests?"
            r"|deletions?|erasures?|exports?|anfragen?|solicitud(?:es)?)\b)"
            # "PCI" alone is a card slot ("PCI Express"); "PCI compliant" is compliance
            r"|hipaa|soc ?[12]|iso ?(?:27001|27018|9001)|pci[ -]?dss|fedramp"
            r"|ccpa|vpat|wcag|section 508|baas?|business associate agreements?"
            r"|data processing (?:agreement|addendum)|zertifiziert|zertifizierung"
            r"|sicherheitsaudit|auditiert|auditor[ií]as?|auditad[oa]s?"
            # a bank's or a pharmacy's regulator
            r"|(?:are you|is (?:it|your company|the company|the bank)) (?:fully )?regulated"
            # "is it licensed under MIT" asks for a software licence
            r"|(?:are you|is (?:your|the) (?:company|pharmacy|bank|clinic|business)) (?:fully )?"
            r"licensed"
            r"|regulated by (?:the )?(?:\w+ ){0,3}?(?:fca|sec|finra|bafin|fda|authority"
            r"|regulator|commission|bank)|fdic|sipc|fda[- ](?:approved|cleared)"
            # "certificado" alone is a course's or a payslip's certificate, "cumplimiento" an
            # order's fulfilment
            r"|(?:est[aá]n?|est[aá]is|es|son|sois) certificad[oa]s?|certificaci[oó]n"
            r"|cumplimiento (?:normativo|de (?:la )?(?:normativa|rgpd|lopd|ley))"
            r")\b"
            # a training platform's compliance course is the product (a certification exam
            # still asks about the certification: "how much is the official exam")
            r"(?![ -](?:compliance |awareness |security )?(?:training|courses?|classes|modules?"
            r"|lessons?|programs?|programmes?|paths?|tracks?)\b)",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b(?:complian(?:t|ce)|conformant|conformance|certifi\w*|accredit\w*"
            r"|audit\w*(?! (?:log|trail))|sicherheitsaudit\w*|pen(?:etration)?[ -]?test\w*"
            r"|penetraci[oó]n|tested by|independent(?:ly)? (?:tested|verified|audited|labs?)"
            r"|third[- ]party (?:tested|verified|audited|labs?)|(?:testing|test) labs?"
            r"|gdpr|dsgvo|rgpd|general data protection|data protection regulation"
            r"|datenschutz-grundverordnung|reglamento general de protecci[oó]n de datos|hipaa"
            r"|business associate agreement|baa|soc ?[123]|iso(?:/iec)? ?\d{4,5}|pci|fedramp"
            r"|ccpa|vpat|wcag|section 508|data processing (?:agreement|addendum)|dpa|zertifi\w*"
            r"|konform\w*|certificad\w*|certificaci\w*|cumplimiento"
            r"|regulated|regulator|authori[sz]ed (?:by|and regulated)|licen[cs]ed (?:by|as)"
            r"|fdic|sipc|fca|bafin|fda|reguliert|regulad[oa])\b",
            re.IGNORECASE,
        ),
    ),
    _Claim(
        "contact",
        # The company's number, not the customer's own ("change my phone number"), a line a
        # telecom sells ("is there a phone line included") or a form's field.
        re.compile(
            r"\b(?:(?:your|support'?s?|customer (?:service|support|care)(?:'s)?|the company'?s)"
            r" (?:(?:phone|telephone|hotline|helpline|support|whatsapp|contact) (?:numbers?|lines?)"
            r"|(?:toll[- ]free |freephone )?number\b)"
            r"|(?:is there|do you have) (?:a|an|any) (?:(?:phone|telephone|whatsapp|contact|hotline"
            r"|helpline) numbers?(?! (?:fields?|columns?|inputs?|formats?|types?)\b)"
            r"|(?:hotline|helpline|support|contact) lines?)"
            r"|(?:phone|telephone) numbers? (?:of|for) (?:[\w-]+'s )?(?:you|your|the support"
            r"|support|customer|the company)"
            r"|phone support|hotline|helpline|phone (?:you|us|support|customer service)\b"
            r"|(?:what|which) number (?:do|should|can) i call|number (?:to|i can|can i|should i)"
            r" call"
            # "call your API" in a developer tool is a request, not a phone call
            r"|call (?:you\b|your (?:support|customer|help|team|office|company|hotline|helpline"
            r"|number|agents?|staff)|support|customer (?:service|support|care)|(?:a|an|the)"
            r" (?:human|agent|person))|(?:support|help|assistance|talk|speak)"
            r" (?:\w+ ){0,3}?(?:by|over the|on the) (?:phone|telephone)"
            # "die Telefonnummer ändern" is the customer's own
            r"|(?:eure|ihre|deine) telefonnummer|telefonnummer (?:des|vom|von (?:eurem|ihrem|dem))"
            r" (?:\w+ )?(?:support|kundenservice|kundendienst|service)|(?:euch|sie|den"
            r" (?:support|kundenservice|kundendienst)) anrufen|(?:euch|sie|ihr|den support|den"
            r" kundenservice) telefonisch|telefonischen? support|su n[uú]mero de tel[eé]fono"
            r"|n[uú]mero de tel[eé]fono de (?:soporte|atenci[oó]n)"
            r"|(?:el|su|vuestro|tienen|ten[eé]is) tel[eé]fono de (?:soporte|atenci[oó]n)"
            r"|llamar (?:al|a) (?:servicio|soporte|atenci[oó]n)"
            r"|atenci[oó]n telef[oó]nica|llamarles|llamaros)\b",
            re.IGNORECASE,
        ),
        re.compile(
            r"\+?\d[\d ().-]{6,}\d|\b(?:phones?|telephone|hotline|helpline|call us|call our"
            r"|give us a call|whatsapp|telefon\w*|anrufen|tel[eé]fono|ll[aá]m\w*"
            # a telecom's short code, a vanity number ("call 1-800-FLOWERS"), calls taken
            r"|dial\w*|call \+?\d|(?:take|takes|taking|answer|answers) (?:phone )?calls"
            r"|ruf\w* (?:sie |ihr |du )?uns|rufnummer|servicenummer)\b",
            re.IGNORECASE,
        ),
    ),
    _Claim(
        "writing",
        re.compile(
            rf"{_ASKED_TO_WRITE}(?: a| an| some)?{_BETWEEN}{{0,2}}? (?:{_WRITINGS})\b"
            r"|\b(?:tell|say) (?:me |us )?something (?:funny|witty)|\bmake (?:me|us) laugh"
            r"|\b(?:schreib|erzähl|erzaehl)\w* (?:mir |uns )?(?:bitte )?(?:ein(?:en|e)? )?"
            r"(?:gedicht|witz|geschichte|lied)\b|\b(?:kannst|könntest|koenntest) du (?:mir |uns )?"
            r"(?:bitte )?(?:ein(?:en|e)? )?(?:\w+ )?(?:gedicht|witz|geschichte|lied)\b"
            r"|\b(?:escr[ií]beme|escr[ií]benos|escribe|cu[eé]ntame|cu[eé]ntanos|(?:puedes|podr[ií]as)"
            r" (?:escribir(?:me)?|contarme|inventar(?:me)?)) (?:un|una) (?:poema|chiste|historia"
            r"|cuento|canción|cancion)\b",
            re.IGNORECASE,
        ),
        re.compile(
            # the product's own compounds: a storybook, a jokebook, a songbook
            r"\b(?:poem\w*|poet\w*|stor(?:y|ies)\w*|joke\w*|song\w*|haiku\w*|limerick\w*|essays?"
            r"|raps?|riddles?|lyric\w*|gedicht\w*|witz\w*|geschichten?|lied(?:er)?|poemas?"
            r"|chistes?|historias?|cuentos?|canci[oó]n(?:es)?)\b",
            re.IGNORECASE,
        ),
    ),
)


def asks_about_money(question: str) -> bool:
    return _ASKS_ABOUT_MONEY.search(question) is not None


def missing_evidence(question: str, passages: Iterable[str]) -> str | None:
    """The kind of answer the question asks for that none of the passages can give: "company",
    "compliance", "contact" or "writing" when it asks for a claim of that kind (_CLAIMS) and no
    passage speaks of it, "price" when it asks what something costs and no passage mentions
    money, "platform" when it asks about a platform (a phone, Windows, a Mac, Linux) that no
    passage names. None otherwise."""
    shown = list(passages)
    for claim in _CLAIMS:
        if claim.asked.search(question) and not any(claim.answered_in(question, p) for p in shown):
            return claim.kind
    if asks_about_money(question) and not any(_MENTIONS_MONEY.search(p) for p in shown):
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
