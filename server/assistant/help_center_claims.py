"""Claims only the help center itself can make: the company, a certification, its phone, writing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple


# Claims only the help center itself can make: whether the product is certified or audited,
# how to reach the company by phone, facts about the company, and writing asked of the
# assistant (a poem is no support answer). A related article is no evidence for any of them:
# "have you had a security audit?" must not be answered from the article on the audit log,
# nor a phone number invented from a contact form. Each entry: the kind, the question's words
# for it, and what in a passage counts as speaking of it (deliberately wide, so that an
# answer in the help center's own words is never declined).
class Claim(NamedTuple):
    kind: str
    asked: re.Pattern[str]
    answered: re.Pattern[str]
    # Whether the standard the question names before "compliant" or "certified" answers it
    # when a passage names it: "is the export PDF/A compliant", "is the charger CE certified",
    # whatever the passage calls the compliance.
    standard_answers: bool = False

    def answered_in(self, question: str, passage: str) -> bool:
        if self.answered.search(passage):
            return True
        standard = _STANDARD.search(question) if self.standard_answers else None
        return standard is not None and _names_standard(passage, standard[1])


# The word before "compliant" or "certified", when it may name a standard ("GDPR compliant").
# It starts only where a run of word characters, dots, slashes and dashes starts: from inside
# one ("1.1.1.1 compliant") every start would rescan the rest of the run, in time growing with
# the square of a question's length.
_STANDARD = re.compile(
    r"(?<![\w/.-])(?!(?:is|are|it|you|your|we|fully|really|still|also|the|a|an)\b)"
    r"([\w/.-]*\w)[ -](?:compliant|conformant|certified|compliance|certification)\b",
    re.IGNORECASE,
)


def _names_standard(passage: str, standard: str) -> bool:
    """Whether the passage names the standard as a whole word, written as standards are: in
    capitals or with a digit ("CE", "PDF/A", "RFC 4180"). Inside another word ("ce" in
    "service") or as a plain word ("is the app certified", "is Acme compliant") the question's
    word is no standard, and a passage that has it says nothing of certification."""
    if len(standard) < 2:
        return False
    for named in re.finditer(rf"(?<!\w){re.escape(standard)}(?!\w)", passage, re.IGNORECASE):
        written = named.group()
        if written.isupper() or any(c.isdigit() for c in written):
            return True
    return False


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

# What may be open, and the hours asked of it ("what are the pharmacy hours").
_OPENS = (
    r"(?:(?:chat |live chat |phone )?support|customer (?:service|support|care)|(?:live )?chat"
    r"|helpdesk|help desk|hotline|office|store|shop|pharmacy|restaurant|gym|pool|branch|clinic"
    r"|bank)"
)
_HOURS_OF = rf"(?:opening|business|office|service|{_OPENS})"
# When it may be open: a day or a time, not a platform or a channel ("is the chat open on
# mobile", "are you available on WhatsApp")
_WHEN_OPEN = (
    r"(?:on (?:(?:mon|tues?|wednes|thurs?|fri|satur|sun)(?:days?)?|weekends?|(?:public |bank )?"
    r"holidays?|christmas|new year'?s?|easter|thanksgiving|\w+ \d+)|at|during|24|around|today"
    r"|tomorrow|now|over|this)"
)

# A passage that speaks of encryption: the word, or the means ("TLS", "AES-256", "PGP").
_ENCRYPTION = re.compile(
    r"\b(?:encrypt\w*|decrypt\w*|end[- ]to[- ]end|ciphers?|aes(?:-?\d+)?|tls|ssl|https|pgp"
    r"|gpg|openpgp|s/mime|passphrases?|verschlüssel\w*|cifrad\w*|cifrar|encriptad\w*)\b",
    re.IGNORECASE,
)

CLAIMS = (
    Claim(
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
    # How many people work there: only a number of them answers ("a team of 40", "120
    # employees"). A product that schedules or pays employees says "employees" on every page,
    # which answers the company claim above but not this.
    Claim(
        "company",
        re.compile(
            r"\b(?:how many (?:employees|staff|people) (?:do you have|does (?:your|the) (?:company"
            r"|business|team) have|work (?:at|for) (?!(?:each|every|my|our|a|an|the|once|any"
            r"|one)\b)|work there)|how big is your (?:company|team)"
            r"|wie viele mitarbeiter (?:habt ihr|haben sie|hat (?:ihre|eure) firma)"
            r"|cu[aá]ntos empleados (?:tienen|ten[eé]is|tiene (?:su|la) empresa|trabajan (?:en"
            r"|para) (?:ustedes|vosotros|su empresa)))",
            re.IGNORECASE,
        ),
        re.compile(
            r"\b\d[\d,.]*\+? (?:full-time )?(?:employees|people|staff|team members|colleagues"
            r"|mitarbeiter\w*|menschen|empleados|personas)\b|\bteam of (?:about |over |around )?\d"
            r"|\b\d+-person\b|\b(?:employees|staff|headcount|mitarbeiter\w*|empleados)\W{0,3}\d",
            re.IGNORECASE,
        ),
    ),
    Claim(
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
        standard_answers=True,
    ),
    Claim(
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
            # a number, but not a date ("2006-01-31"); a phone spoken of as a way to reach
            # someone, not a form's "Phone" field (an accounting app's customer record)
            # ("01.23.45.67.89" goes on after its "date": no date)
            r"(?<![\w+])(?!(?:\d{4}[-/.]\d\d?[-/.]\d\d?|\d\d?[-/.]\d\d?[-/.]\d{2,4})\b"
            r"(?![-/.]\d))"
            r"\+?\d[\d ().-]{6,}\d"
            r"|\b(?:phone (?:support|lines?|numbers?|hours|team)|(?:by|over the|on the|via)"
            r" (?:tele)?phone|phone:|telephone|hotline|helpline|call us|call our"
            r"|give us a (?:call|ring)|ring us|call-?backs?|(?:by|via|over a) voice call|whatsapp"
            # a person or a place to call ("call the support team"), not "call the API" nor
            # "call your team" in a product that makes calls
            r"|(?:call|phone) (?:the |your |our |a |an )?(?:local )?(?:customer (?:service|support"
            r"|care)|support|help ?desk|service desk|store|shop|branch|office|pharmacy|clinic"
            r"|advisors?|representatives?)|telefon\w*|anrufen"
            r"|tel[eé]fono|ll[aá]m\w*"
            # a telecom's short code, a vanity number ("call 1-800-FLOWERS"), calls taken
            r"|dial\w*|call \+?\d|(?:take|takes|taking|answer|answers) (?:phone )?calls"
            r"|ruf\w* (?:sie |ihr |du )?uns|rufnummer|servicenummer)\b",
            re.IGNORECASE,
        ),
    ),
    # When support can be reached: hours the help center states if it has them. Only asked of
    # the company ("your opening hours", "what are the hours", "are you open on Sundays"): a
    # help desk's "business hours", a booking page's "opening hours" or a shop's "horario de
    # atención" are set in the product, and their passages say "schedule" or "availability".
    Claim(
        "contact",
        re.compile(
            r"\b(?:(?:your|support'?s|customer (?:service|support|care)'?s?) (?:opening |business "
            r"|office |support |phone |chat |service )?hours|(?:what|which) (?:are|is|'re|'s)"
            rf" (?:the |your )?(?:[\w-]+'s )?(?:{_HOURS_OF} )?hours(?: of operation)?(?! (?:of|on"
            r"|in|for) (?:my|our|this|each|every|a|an)\b| (?:on|in) the\b| (?:i|we|he|she|they"
            r"|left|logged|worked|billed|tracked)\b)"
            rf"|(?:when|what time|what hours) (?:are you|is (?:your |the )?{_OPENS})"
            rf" (?:open|available|online)|(?:when|what time) (?:do you|does (?:your |the )?"
            rf"{_OPENS}) (?:open|close)"
            rf"|are you (?:open|available) {_WHEN_OPEN}"
            rf"|is (?:your |the )?{_OPENS} open {_WHEN_OPEN}"
            r"|24/7 support|(?:eure|ihre|deine) öffnungszeiten|(?:wie|was) sind (?:die )?"
            r"öffnungszeiten|wann (?:habt ihr|haben sie|ist (?:der|die|das) \w+) (?:\w+ )?"
            r"(?:geöffnet|offen|auf)|(?:wann|zu welchen zeiten) (?:seid ihr|sind sie|ist der"
            r" support) erreichbar|(?:cu[aá]l es|cu[aá]les son) (?:el |su |vuestro |los |sus )?"
            # "¿cuál es el horario de mi turno?" in an HR tool is the customer's own
            r"horarios?(?! del? (?:mi|tu|su|turno|trabajo|emplead))"
            r"|a qu[eé] hora (?:abren|cierran|abr[ií]s|cerr[aá]is))\b",
            re.IGNORECASE,
        ),
        # a time ("9am", "9:00-17:00", "9 to 5"), a day, or hours of any kind, and what is open
        # or closed when ("closed on Sundays", "open daily, noon to midnight")
        re.compile(
            r"\b\d{1,2}(?::\d\d)? ?(?:am|pm|a\.m\.|p\.m\.|uhr|h)(?!\w)|\b\d{1,2}:\d\d\b"
            r"|\b\d{1,2}(?::\d\d)? ?(?:-|–|to|bis|a) ?\d{1,2}(?::\d\d)?\b"
            r"|\b(?:hours|24/7|around the clock|noon|midnight|daily|every day|holidays?|weekdays?"
            r"|weekends?|(?:mon|tues?|wednes|thurs?|fri|satur|sun)(?:days?)?|wed|thu"
            r"|(?:open|opens|opened|close|closes|closed) (?:at|from|until|till|daily|every|each"
            r"|on|all|24|around|during|\d)|(?:we'?re|we are|is|are) (?:open|closed)"
            r"|(?:mon|diens|donners|frei|sams|sonn|werk|feier)tag\w*|mittwoch\w*|geöffnet"
            r"|geschlossen|öffnungszeiten|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bados?"
            r"|domingos?|festivos?|abiert[oa]s?|cerrad[oa]s?|abrimos|cerramos|horarios?)\b",
            re.IGNORECASE,
        ),
    ),
    # Whether data or a file is encrypted or can be protected with a password: a security
    # claim like a certification, which a related article ("change your password", "export a
    # file") must not be read as making. The help center answers with the means it uses.
    Claim(
        "compliance",
        re.compile(
            r"\b(?:encrypt(?:s|ed|ion|ing)?|end[- ]to[- ]end|verschlüssel\w*|cifrad[oa]s?|cifrar"
            r"|encriptad[oa]s?|encriptar)\b",
            re.IGNORECASE,
        ),
        _ENCRYPTION,
    ),
    Claim(
        "compliance",
        re.compile(
            r"\b(?:password[- ]protect(?:ed|ion|ing)?|protect (?:it|them|(?:my|the|a|our) \w+(?:"
            r" \w+)?) with a password|passwort(?:schutz|geschützt)|mit (?:einem )?passwort"
            r" schützen|proteger con contraseña|protegid[oa] con contraseña)\b",
            re.IGNORECASE,
        ),
        re.compile(rf"{_ENCRYPTION.pattern}|\b(?:passwor(?:d|t)\w*|contraseñas?)\b", re.IGNORECASE),
    ),
    Claim(
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


def missing_claim(question: str, passages: Sequence[str]) -> str | None:
    """The kind of the first claim the question asks for that no passage speaks of, or None."""
    for claim in CLAIMS:
        if claim.asked.search(question) and not any(
            claim.answered_in(question, p) for p in passages
        ):
            return claim.kind
    return None
