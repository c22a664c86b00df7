"""Claims only the help center can make need a passage that speaks of them (answer_types.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.assistant.answer_types import missing_evidence

UNRELATED = "How to sign in: enter your email and password."

# Questions from help centers of other products, each with the passage of that help center that
# answers it, in its own words: the claim is asked for, and the passage counts as evidence.
CLAIMS_AND_ANSWERS = [
    # the company itself
    ("company", "what's your stock ticker?", "Acme trades on the NASDAQ as ACME."),
    ("company", "is the company publicly traded", "Acme has been listed on the stock exchange."),
    ("company", "how many employees do you have", "We are a team of 40 people in six countries."),
    ("company", "how many people work at Acme", "Our 120 employees work remotely."),
    ("company", "are you hiring?", "See the open positions on our careers page."),
    ("company", "do you have any job openings for designers", "Join our team: jobs.acme.com"),
    ("company", "where are you based", "Acme is a Berlin-based company."),
    ("company", "where is the company located", "Our office is located in Lisbon."),
    ("company", "who is your CEO", "Maria Lopez is our CEO and co-founder."),
    ("company", "when was the company founded", "We have built scheduling tools since 2012."),
    ("company", "who founded the company", "Acme was founded by two teachers."),
    ("company", "who are your investors", "Acme is funded by its customers, not by investors."),
    ("company", "wie viele Mitarbeiter habt ihr", "Bei uns arbeiten 35 Mitarbeiterinnen."),
    ("company", "¿cuántos empleados tienen?", "Somos 50 empleados en Madrid."),
    # a company's own words for where it is, who works there and what it is worth
    ("company", "where are you located", "Visit us at 12 High Street, Bristol."),
    ("company", "where are you based", "Acme GmbH, mit Sitz in Hamburg."),
    ("company", "where are you based", "Acme tiene su sede en Valencia."),
    ("company", "are you hiring?", "Offene Positionen findest du auf der Karriereseite."),
    ("company", "how many employees do you have", "We're a 40-person team."),
    ("company", "what's the share price of Acme", "The price per share was set at $4.10."),
    ("company", "who is the CEO of Acme", "Maria Lopez leads Acme as its CEO."),
    ("company", "where is your office", "Our office is in Lisbon."),
    ("company", "wo ist euer Firmensitz", "Unser Hauptsitz ist in Köln."),
    ("company", "¿dónde está su sede?", "Estamos ubicados en Valencia."),
    ("company", "¿están contratando?", "Consulta las vacantes en nuestra web."),
    ("company", "¿cuantos empleados tienen?", "Somos 50 empleados en Madrid."),
    ("company", "do you have any open positions", "See the open positions on our careers page."),
    ("company", "can I work for you", "Join our team: jobs.acme.com"),
    ("company", "are you a public company", "Acme has been listed on the stock exchange."),
    ("company", "are you owned by Google", "Acme is an independent, founder-owned company."),
    ("company", "how old is your company", "We have built scheduling tools since 2012."),
    # certifications, audits and compliance
    ("compliance", "are you GDPR compliant?", "We follow the General Data Protection Regulation."),
    ("compliance", "is it HIPAA compliant", "We sign a business associate agreement (BAA)."),
    ("compliance", "do you have a SOC 2 report", "Our SOC 2 Type II report is available."),
    ("compliance", "are you ISO 27001 certified", "Acme holds ISO/IEC 27001 since 2021."),
    ("compliance", "have you had a security audit?", "An external auditor reviews us yearly."),
    ("compliance", "have you been pen tested", "We run a penetration test every quarter."),
    ("compliance", "is the widget WCAG compliant", "The widget meets WCAG 2.1 AA."),
    ("compliance", "is the export PDF/A compliant", "Exports are PDF/A-1b files."),
    ("compliance", "is the charger CE certified", "The charger carries the CE mark."),
    ("compliance", "do you sign a data processing agreement", "Download our DPA from Settings."),
    ("compliance", "how do I get certified after the course", "Your certificate arrives by mail."),
    ("compliance", "ist die App DSGVO-konform?", "Die App ist DSGVO-konform."),
    ("compliance", "are you PCI compliant", "Card data is handled by a PCI DSS Level 1 provider."),
    # the help center's own words in German and Spanish, and a lab's test
    ("compliance", "have you had a security audit?", "Una auditoría externa nos revisa cada año."),
    ("compliance", "have you had a security audit?", "Wir werden jährlich extern auditiert."),
    ("compliance", "have you been pen tested", "Realizamos pruebas de penetración cada trimestre."),
    ("compliance", "are you GDPR compliant?", "Wir halten uns an die Datenschutz-Grundverordnung."),
    ("compliance", "is it GDPR compliant", "Cumple el Reglamento General de Protección de Datos."),
    ("compliance", "are your supplements third-party tested?", "Each batch is tested by a lab."),
    ("compliance", "¿están certificados?", "Contamos con la certificación ISO 27001."),
    ("compliance", "gab es ein Sicherheitsaudit?", "Ein Audit prüft uns jedes Jahr."),
    ("compliance", "¿han pasado una auditoría de seguridad?", "Nos audita una firma externa."),
    ("compliance", "are you regulated by the FCA", "Acme Ltd is authorised by the FCA."),
    ("compliance", "are deposits FDIC insured", "Deposits are FDIC-insured up to $250,000."),
    ("compliance", "has Acme ever been audited", "Independent auditors review Acme every year."),
    ("compliance", "are your servers audited?", "Our data centres hold ISO 27001."),
    ("compliance", "do you sign a BAA", "We sign a business associate agreement with clinics."),
    ("compliance", "does the widget meet WCAG 2.1", "The widget meets WCAG 2.1 AA."),
    ("compliance", "is your pharmacy licensed", "Acme Pharmacy is licensed by the state board."),
    # reaching the company by phone
    ("contact", "what is your phone number", "Call us on +44 20 7946 0958, 9 to 5."),
    ("contact", "can I call customer service", "Our hotline is open on weekdays."),
    ("contact", "is there a support phone line", "Give us a call during office hours."),
    ("contact", "what is the phone number of Acme's customer support", "Phone: 0800 123 456."),
    ("contact", "can I get help over the phone", "Our support team takes calls: 555-0100."),
    ("contact", "wie ist eure Telefonnummer", "Telefonisch erreichen Sie uns werktags."),
    ("contact", "¿cuál es su número de teléfono?", "Llámanos al 900 123 456."),
    # a telecom's short code, a vanity number, a call taken in German
    ("contact", "how do I call customer service from abroad", "From abroad, dial 49 and 2202."),
    ("contact", "can I call customer service", "Call 1-800-FLOWERS any day of the week."),
    ("contact", "can I get help over the phone", "Our agents take calls from 9 to 5."),
    ("contact", "wie ist eure Telefonnummer", "Rufen Sie uns an, wir helfen gern."),
    ("contact", "what's the customer service number?", "Our hotline: 0800 123 456."),
    ("contact", "what number do I call for support", "Dial 611 from your Acme phone."),
    ("contact", "can I phone you", "Call us on 020 7946 0958."),
    ("contact", "wie erreiche ich euch telefonisch", "Unsere Hotline: 0800 123 456."),
    ("contact", "¿puedo llamar al servicio de atención al cliente?", "Llámanos al 900 123 456."),
    ("contact", "¿cuál es el teléfono de atención al cliente?", "Llámanos al 900 123 456."),
    ("contact", "what's your toll-free number", "Call 1-800-555-0100 toll-free."),
    ("contact", "¿tienen teléfono de atención?", "Llámanos al 900 123 456."),
    # writing asked of the assistant
    ("writing", "write me a poem about mondays", "The poem generator writes a poem per card."),
    ("writing", "tell me a joke", "Tap the joke button for a joke of the day."),
    ("writing", "can you write a story for my kids", "Each story takes five minutes to read."),
    ("writing", "create a song playlist for running", "Add songs to a playlist from any album."),
    ("writing", "schreib mir ein Gedicht", "Das Gedicht erscheint auf der Karte."),
    ("writing", "can you write a story for my kids", "Build your own storybook in the app."),
    ("writing", "Kannst du mir ein Gedicht schreiben?", "Das Gedicht erscheint auf der Karte."),
    ("writing", "schreib ein Gedicht über Montage", "Gedichte erscheinen auf der Karte."),
    ("writing", "¿puedes escribir un poema?", "Cada tarjeta incluye un poema."),
    ("writing", "can you write my essay for me", "Submit your essay before the deadline."),
    ("writing", "make me a poem", "The poem generator writes a poem per card."),
    ("writing", "tell me something funny", "Tap the joke button for a joke of the day."),
    ("writing", "escribe un poema sobre el mar", "Cada tarjeta incluye un poema."),
]


@pytest.mark.parametrize(("kind", "question", "answer"), CLAIMS_AND_ANSWERS)
def test_a_claim_needs_a_passage_that_speaks_of_it(kind: str, question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED]) == kind
    assert missing_evidence(question, [UNRELATED, answer]) is None


@pytest.mark.parametrize(
    "question",
    [
        # the product's own words for a team, a log, a certificate or a call
        "how many employees can I add to my plan",
        "can my employees see each other's shifts",
        "where is the audit log",
        "export the audit trail as CSV",
        "python requests gives SSL certificate verify failed",
        "how do I renew my TLS certificate",
        "how do I call a function by its name",
        "¿cómo llamar a una función?",
        "how do I start a video call with a customer",
        "can agents take phone calls in the app",
        "how do I change my phone number",
        "add a phone number to my profile",
        "can I pay by phone",
        "meine Telefonnummer ändern",
        "Wie ändere ich die Telefonnummer in meinem Profil?",
        "Wie kann ich jemanden anrufen, der mich blockiert hat?",
        # a developer tool's API, a telecom's lines, a form builder's fields
        "can I call your API from Python",
        "how do I call your webhook endpoint",
        "is there a phone line included with fibre",
        "do you have any phone lines available in my area",
        "is there a phone number field in the form builder",
        # a training platform's courses, a developer tool's tests, a data request
        "how do I assign compliance training to my employees",
        "how do I assign HIPAA training to my staff",
        "where can I find certification courses",
        "¿cómo descargo mi certificado del curso?",
        "¿dónde descargo el certificado de retenciones?",
        "how do I add security testing to my pipeline",
        "how do I handle a GDPR deletion request",
        "how do I lock audited periods",
        "which entries were audited last month",
        "how is the temperature regulated by the thermostat",
        "is it licensed under the MIT license",
        # a document, an installer: "certified" names what is asked for, not the company
        "do I need a certified translation of my passport",
        "where can I find a certified installer near me",
        # a card slot, an order's fulfilment
        "does the capture card need a PCI Express slot",
        "¿cómo funciona el cumplimiento de pedidos?",
        # writing asked about, not asked for
        "how do I write a user story",
        "where are my saved stories",
        "can I add a song to my video",
        "the poem template is missing",
        "tell me about the story mode",
        "Tell me more about stories",
        "can you tell me how many stories I can post per day",
        "can you tell me if the song library shows album art",
        "who owns the data I upload",
        # a watch list's tickers, a marketplace's listings
        "add a new stock ticker symbol so I can track it",
        "how do I make my listing publicly listed",
        # a crowdfunding platform's rounds, an HR tool's staff, a recruiting tool's jobs
        "when does the funding round close?",
        "how do I invest in a funding round",
        "how many staff work at each location",
        "¿cuántos empleados puedo añadir?",
        "how do I post job openings",
        "how do I close a job opening",
        "how do I log my internship hours",
        "Wie veröffentliche ich Stellenangebote?",
        "¿cómo publico ofertas de empleo?",
        # the customer's own company in a B2B tool
        "who owns the company account",
        "where do I enter the company's head office address",
        "how do I add my certifications to my profile",
        "how do I add the company's CEO as an approver",
        "where is the share button",
    ],
)
def test_product_questions_that_ask_for_no_claim(question: str) -> None:
    assert missing_evidence(question, [UNRELATED]) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a price in a trading app or an accounting book is a quote, not the company's shares
        ("why is the stock price delayed?", "Prices refresh every 15 minutes in market hours."),
        ("how do I set an alert when a stock price drops", "Price alerts: tap the bell icon."),
        ("type in a share price manually for a date", "Open the Price Editor and click Add."),
    ],
)
def test_product_questions_answered_in_their_own_words(question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED, answer]) is None


def test_a_standard_named_in_a_passage_answers_its_compliance() -> None:
    question = "is the CSV export RFC 4180 compliant?"
    assert missing_evidence(question, [UNRELATED]) == "compliance"
    assert missing_evidence(question, ["Quoting follows RFC 4180."]) is None


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        # a short standard inside other words: "ce" in "service", "ul" in "useful"
        ("is the charger CE certified", "Our service team replaces it once a year."),
        ("is it UL certified?", "A useful tip: charge it fully before first use."),
        # the word before "certified" is no standard when it is the product or a common word
        ("is the app certified?", "Open the app and tap Settings."),
        ("is Acme compliant?", "Acme syncs your calendar every five minutes."),
        ("is this software certified", "Update the software from the Help menu."),
    ],
)
def test_a_common_word_before_compliant_is_no_standard(question: str, passage: str) -> None:
    assert missing_evidence(question, [passage]) == "compliance"


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("is the charger ce certified", "The charger carries the CE mark."),
        ("is the export pdf/a compliant", "Exports are PDF/A-1b files."),
        ("is the CSV export RFC 4180 compliant?", "Quoting follows rfc 4180."),
        ("is it EN71 certified", "Tested to EN71 parts 1 to 3."),
    ],
)
def test_a_standard_as_the_passage_writes_it(question: str, passage: str) -> None:
    assert missing_evidence(question, [UNRELATED, passage]) is None


def test_a_long_question_is_read_in_linear_time() -> None:
    # A question is the customer's: a run of "1." before "compliant" once took time growing
    # with the square of its length (2 s at 20,000 characters, per passage). At 200,000 it
    # would take minutes; read once, it takes milliseconds.
    script = (
        "from server.assistant.answer_types import missing_evidence\n"
        "question = 'is it ' + '1.' * 100_000 + ' compliant?'\n"
        "print(missing_evidence(question, ['" + UNRELATED + "'] * 6))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "compliance"


def test_the_claims_come_before_a_price() -> None:
    # "the stock price" asks about the company, which a pricing article does not answer.
    pricing = "The Pro plan is $12 per user and month."
    assert missing_evidence("what's the stock price of Acme", [pricing]) == "company"
    # a limit raised in a contract is no funding raised
    limits = "Enterprise: 1,000 requests a minute (can be raised in your contract)."
    assert missing_evidence("what's the stock price of Acme", [pricing, limits]) == "company"
    assert missing_evidence("how much is the Pro plan", [pricing]) is None


def test_a_form_s_phone_field_or_a_date_is_no_phone_line() -> None:
    # An accounting app's customer record has a "Phone" field; its invoices have dates.
    question = "what is your support phone number"
    record = "Customers\n\nEnter the customer's Name, Address, Phone, Fax and Email."
    dated = "Invoices dated 2006-01-31 are posted on 31/01/2006."
    # and a developer tool calls its API, not a person
    api = "Call the API with your key, then call the webhook endpoint."
    assert missing_evidence(question, [record, dated, api]) == "contact"
    # Saying there is no phone support answers it too.
    assert missing_evidence(question, ["We don't offer support by phone, only chat."]) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("what are your support hours", "Our team answers Monday to Friday, 9am-6pm CET."),
        ("when is customer service open", "Chat support is available 24/7."),
        ("are you open on weekends", "We are closed on weekends and public holidays."),
        ("what are your opening hours", "The shop opens at 10:00 and closes at 19:00."),
        ("wann ist der Support erreichbar", "Der Support ist werktags von 8 bis 18 Uhr da."),
        ("¿cuál es el horario de atención?", "Atendemos de lunes a viernes."),
    ],
)
def test_when_support_can_be_reached_needs_the_hours_in_a_passage(
    question: str, answer: str
) -> None:
    assert missing_evidence(question, [UNRELATED]) == "contact"
    assert missing_evidence(question, [UNRELATED, answer]) is None


@pytest.mark.parametrize(
    "question",
    ["how do I set my office hours", "show my working hours to clients", "how many hours left"],
)
def test_hours_of_the_product_are_no_support_hours(question: str) -> None:
    assert missing_evidence(question, [UNRELATED]) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # hours in a shop's, a gym's or a restaurant's own words
        ("what are the opening hours of the pool", "The pool opens at 7 and closes at 22."),
        ("what are your opening hours", "Open daily 7 a.m.–10 p.m."),
        ("what are your opening hours", "We're open every day except Christmas."),
        ("what are your opening hours", "Open daily, noon to midnight."),
        ("are you open on sundays", "We're closed on Sundays."),
        ("are you open on christmas", "We are closed on public holidays."),
        ("what are your phone hours", "Phone lines are open Mon-Fri."),
        ("when is chat support available", "Live chat runs from 9 to 5 Eastern."),
        ("are you open today", "We're open every day of the year."),
        ("wie sind eure Öffnungszeiten", "Samstags geöffnet, sonntags geschlossen."),
        ("¿cuál es su horario?", "Abrimos todos los días, festivos cerrado."),
    ],
)
def test_support_hours_in_a_help_center_s_own_words(question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED]) == "contact"
    assert missing_evidence(question, [UNRELATED, answer]) is None


@pytest.mark.parametrize(
    "question",
    [
        # a help desk's, a booking page's or a shop's own hours, set in the product
        "how do I set my business hours",
        "how do I set business hours for my inbox",
        "show business hours in the widget",
        "out of business hours message",
        "set opening hours on my booking page",
        "change my store's opening hours",
        "how do I add opening hours to my google profile",
        "how do I set the chat hours of the widget",
        "set hours of operation",
        "configure support hours in the SLA policy",
        "Öffnungszeiten meiner Filiale ändern",
        "wie ändere ich die Öffnungszeiten",
        "¿cómo configuro el horario de atención del chat?",
        # a channel, a timesheet's hours
        "are you available on whatsapp",
        "what are the hours I worked this week",
        "what are the hours on the timesheet",
    ],
)
def test_hours_set_in_the_product_are_no_support_hours(question: str) -> None:
    assert missing_evidence(question, [UNRELATED]) is None


@pytest.mark.parametrize(
    "answer",
    [
        "Appelez-nous au 01.23.45.67.89.",  # dotted digits, no date
        "Request a callback from the Help menu.",
        "Give us a ring any weekday.",
        "Call customer service from the Help tab in the app.",
        "Call the support team any weekday.",
        "Phone the store you ordered from.",
        "Reach an agent by voice call from the app.",
    ],
)
def test_a_phone_line_in_other_words(answer: str) -> None:
    question = "can I speak to someone by phone"
    assert missing_evidence(question, [UNRELATED]) == "contact"
    assert missing_evidence(question, [UNRELATED, answer]) is None


@pytest.mark.parametrize("question", ["is the chat open on mobile", "are you available on android"])
def test_open_on_a_platform_is_no_support_hours(question: str) -> None:
    # a chat window on a phone, the app on Android: the platform asked about, not the hours
    assert missing_evidence(question, [UNRELATED]) == "platform"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("is my data encrypted?", "All data is encrypted at rest with AES-256."),
        ("are my messages end-to-end encrypted", "Chats use end-to-end encryption by default."),
        ("is the connection encrypted", "Every page is served over HTTPS (TLS 1.3)."),
        ("can I encrypt an email", "Sign and encrypt messages with OpenPGP or S/MIME."),
        ("can sqlite encrypt the database file", "The SEE extension encrypts database files."),
        ("can I password protect my file", "Set a password under File > Properties."),
        ("protect my spreadsheet with a password", "Choose Protect > Add a password."),
        ("ist die Verbindung verschlüsselt?", "Alle Daten werden verschlüsselt übertragen."),
        ("¿los datos están cifrados?", "Los datos se guardan cifrados con AES."),
    ],
)
def test_encryption_needs_a_passage_that_speaks_of_it(question: str, answer: str) -> None:
    assert missing_evidence(question, ["Export your records as a file."]) == "compliance"
    assert missing_evidence(question, ["Export your records as a file.", answer]) is None


@pytest.mark.parametrize(
    "question",
    [
        "how do I reset my password",
        "what are the password requirements",
        "I forgot the password of my account",
        "can I protect a channel from new members",
    ],
)
def test_password_questions_that_ask_for_no_protection(question: str) -> None:
    assert missing_evidence(question, ["Export your records as a file."]) is None


@pytest.mark.parametrize(
    "answer",
    [
        "We are a team of 40 people in six countries.",
        "Acme employs 1,200+ people worldwide.",
        "A 12-person team builds Acme.",
        "Headcount: 85 (March 2026).",
        "Bei uns arbeiten 35 Mitarbeiterinnen.",
    ],
)
def test_how_many_work_there_needs_a_number_of_them(answer: str) -> None:
    # A product that schedules or pays employees says "employees" on every page: that answers
    # "are you hiring" no more than "how many employees do you have".
    question = "how many employees does your company have"
    product = "Track your employees' hours and run payroll for your staff."
    assert missing_evidence(question, [product]) == "company"
    assert missing_evidence(question, [product, answer]) is None
