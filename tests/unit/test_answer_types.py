"""A question about a price needs a passage that mentions money (answer_types.py)."""

from __future__ import annotations

import pytest

from server.assistant.answer_types import asks_about_money, missing_evidence, platform_matches

UNRELATED_PASSAGE = "How to sign in: enter your email and password."


@pytest.mark.parametrize(
    "question",
    [
        "how much does the enterprise plan cost?",
        "what are your prices",
        "can I get a refund for my subscription?",
        "is there a student discount",
        "are there any fees for extra users",
        "you charged my card twice",
        "I want my money back",
        "how do I stop paying for this",
        "was kostet die Lizenz?",
        "wie bekomme ich eine Rückerstattung",
        "¿cuánto cuesta el plan anual?",
    ],
)
def test_asks_about_money(question: str) -> None:
    assert asks_about_money(question)


@pytest.mark.parametrize(
    "question",
    [
        "how much storage do I get",
        "what licence is it under",
        "how do I subscribe to a calendar",
        "can I plan a meeting for next week",
        "how do I pay attention to new mail",
        "who is in charge of my account",
    ],
)
def test_questions_that_only_sound_like_money(question: str) -> None:
    assert not asks_about_money(question)


def test_a_price_question_needs_money_in_a_passage() -> None:
    question = "how much does the business licence cost?"
    no_money = [
        "Accounts > Subscriptions\n\nSubscribe to a remote calendar: you pay attention to its"
        " plan and licence.",
        "Calendar > Plans\n\nPlan a meeting with the whole team.",
    ]
    assert missing_evidence(question, no_money) == "price"
    assert missing_evidence(question, []) == "price"
    for money in (
        "The Business plan is $12 per user.",
        "Prices are listed on our pricing page.",
        "Each extra seat is billed monthly.",
        "It costs 10 EUR a month.",
        "Refunds reach your card within 5 days.",
        "Die Lizenz ist kostenlos.",
        "El precio incluye todas las funciones.",
    ):
        assert missing_evidence(question, [*no_money, money]) is None, money


def test_other_questions_need_no_particular_evidence() -> None:
    assert missing_evidence("how do I add a calendar", ["Nothing about money here."]) is None


# Price questions from help centers of other products, each with the passage that answers it:
# the question is about money, and the passage counts as mentioning it.
PRICE_QUESTIONS_AND_ANSWERS = [
    ("how much does the Pro plan cost per month", "The Pro plan is 12 € per user and month."),
    ("is there a fee for international transfers", "International transfers carry a 0.5% fee."),
    ("do you charge for extra users", "There is no charge for extra users on the Business plan."),
    ("what does shipping cost to Canada", "Shipping to Canada is CAD 15 under CAD 100."),
    ("can I get a refund if I cancel my flight", "Refunds are processed within 10 business days."),
    ("does it cost anything to add a guest", "Guests are free: invite as many as you like."),
    ("are there any cancellation fees", "Cancelling is free of charge up to 24 hours before."),
    ("what's the price of the premium tier", "Plans start at ₹499 a month."),
    ("why was I charged twice this month", "A pending charge disappears within 3 days."),
    ("can I get a discount for nonprofits", "Nonprofits get 50% off any plan."),
    ("do you offer student pricing", "Students pay 4 USD a month."),
    ("what are the charges on my statement", "Each charge on your statement names the order."),
    ("how much do I pay for storage over 100 GB", "Extra storage: 2 GBP per 100 GB."),
    ("what do you charge for a late return", "We charge a late fee of $5 per day."),
    ("is there a charge for using the api", "The API is included in every plan at no extra cost."),
    ("how much does it cost to upgrade", "Upgrades are prorated for the rest of the cycle."),
    ("what's the cost of an additional seat", "An additional seat is EUR 8 a month."),
    ("how much does the starter plan cost", "The Starter plan is free for up to 3 users."),
    ("is the app free or does it cost money", "The mobile app is free to download."),
    ("wie viel kostet der Pro-Tarif", "Pro: 9,99 € im Monat, jederzeit kündbar."),
    ("gibt es eine Gebühr für die Stornierung", "Für Stornierungen fällt eine Gebühr an."),
    ("bekomme ich einen Rabatt für Schulen", "Schulen erhalten 30 % Rabatt auf alle Tarife."),
    ("wie bekomme ich eine Rückerstattung", "Die Rückerstattung erfolgt innerhalb von 14 Tagen."),
    ("was kostet die App", "Die App ist gratis."),
    ("¿cuánto cuesta el envío a México?", "El envío a México cuesta 150 MXN."),
    ("¿hay descuento para estudiantes?", "Los estudiantes tienen un 20 % de descuento."),
    ("¿cuánto cuesta la aplicación?", "La aplicación es gratuita."),
    ("what exactly do I pay for", "You pay for the storage you use, nothing else."),
    ("is there a money back guarantee", "Every plan has a 30-day money back guarantee."),
]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("how do I find expensive queries", "Insights lists your most expensive queries."),
        ("which plan is cheaper for small teams", "Teams is cheaper below ten members."),
    ],
)
def test_the_question_s_own_money_word_in_a_passage_is_evidence(question: str, answer: str) -> None:
    assert missing_evidence(question, [answer]) is None


@pytest.mark.parametrize(("question", "answer"), PRICE_QUESTIONS_AND_ANSWERS)
def test_price_questions_of_other_help_centers(question: str, answer: str) -> None:
    assert asks_about_money(question)
    assert missing_evidence(question, ["How to sign in.", answer]) is None
    assert missing_evidence(question, ["How to sign in."]) == "price"


@pytest.mark.parametrize(
    "question",
    [
        "how do I charge my headphones",
        "how long does the battery take to charge",
        "my scooter won't charge",
        "the phone charges very slowly",
        "how do I charge the robot vacuum",
        "can I charge the watch with a phone charger",
        "the charge indicator keeps blinking",
    ],
)
def test_charging_a_device_is_not_about_money(question: str) -> None:
    assert not asks_about_money(question)


def test_free_that_is_not_about_money() -> None:
    question = "how much does the business licence cost?"
    for passage in (
        "Feel free to contact us.",
        "Free up space by deleting old files.",
        "Publish your Free/Busy data for free/busy lookups.",
        # a trial answers whether there is one, not what the licence costs
        "Every plan starts with a 14-day trial.",
    ):
        assert missing_evidence(question, [passage]) == "price", passage


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("is there a mobile app?", "Install the app from the App Store or Google Play."),
        ("is there an android app", "The Android app syncs every five minutes."),
        ("can I use it on my phone", "On phones and tablets, open the web app in a browser."),
        ("does it work on an iPad", "The iPad version supports split view."),
        ("does it run on Windows 11?", "Windows 10 and later are supported."),
        ("download for windows", "Run the installer (setup.exe) and follow the steps."),
        ("can I install it on my mac", "On macOS, drag the app to Applications."),
        ("is there a macOS version", "Download the Mac version from the website."),
        ("does it work on linux", "Packages exist for Ubuntu and Fedora."),
        ("how do I install it on ubuntu", "On Debian and Ubuntu, install the .deb package."),
    ],
)
def test_a_platform_question_needs_its_platform_named(question: str, answer: str) -> None:
    assert missing_evidence(question, ["How to sign in.", answer]) is None
    assert missing_evidence(question, ["How to sign in."]) == "platform"


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("open each message in its own window", None),
        ("how do I close all windows at once", None),
        ("the windows keep moving to the other screen", None),
        # A phone number is asked of the company, not of a platform (test_answer_claims.py).
        ("what is your phone number", "contact"),
        ("add a mobile number to my profile", None),
    ],
)
def test_windows_and_phones_that_are_not_platforms(question: str, missing: str | None) -> None:
    assert missing_evidence(question, ["How to sign in."]) == missing


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a phone number, a call, a SIM: no app asked about
        ("how do I change my mobile phone number", "Edit your number under Profile."),
        ("I am not getting the OTP on my mobile number", "We send the code to your number."),
        ("can I book an appointment on the phone?", "Call us at 555-0100 to book."),
        ("can I renew my prescription on the phone", "Call the pharmacy to renew it."),
        # a tablet that is no computer: a dishwasher's, a coffee machine's, a pharmacy's
        ("where do I put the dishwasher tablet", "Put the detergent in the dispenser."),
        ("how do I use the cleaning tablet", "Descale the machine once a month."),
        ("can I split the tablet in half", "Pills with a score line may be halved."),
        # glass windows, written in lower case by the help center too
        ("is the sealant safe for windows?", "The sealant suits windows and doors."),
        ("does the robot clean on windows without frames", "It cleans windows of any kind."),
        # a network card's address, not a Mac
        ("is there a filter for the mac address", "Add the hardware ID under Allowed devices."),
    ],
)
def test_platform_words_in_another_sense(question: str, answer: str) -> None:
    assert missing_evidence(question, ["How to sign in.", answer]) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a mobile app's steps are taps; a code "on my phone" comes by text message
        ("can I scan receipts on my phone?", "Open the app, tap Scan and point the camera."),
        ("how do I log in on mobile", "In the app, tap Log in and enter your email."),
        ("I get no code on my phone", "We send a six-digit code by SMS."),
        # Windows as a PC, an installer or its store
        ("is there a desktop app for windows", "Download the desktop app for PC and Mac."),
        ("how do I install the driver on Windows", "Run the MSI installer and restart."),
        ("where do I download the windows version", "Get the app from the Microsoft Store."),
        ("can I play the game on a Windows laptop", "The game is available on PC via Steam."),
        # Linux as its packages
        ("does it work on linux", "Install the AppImage or the Flatpak from Flathub."),
        ("how do I install it on ubuntu", "Download the .deb package and open it."),
        ("is there a fedora package", "An .rpm is published with every release."),
        # German and Spanish help centers name phones in their own words
        ("Kann ich es auf dem iPhone nutzen?", "Die App läuft auf jedem Mobiltelefon."),
        ("Gibt es eine App für Android?", "Installiere die App auf deinem Mobilgerät."),
        ("¿Hay una app para iPhone?", "Descarga la aplicación para el móvil desde la web."),
        ("¿Funciona en Android?", "La aplicación funciona en cualquier celular."),
        ("¿Puedo usarlo en mi iPad?", "La app funciona en tabletas y teléfonos."),
    ],
)
def test_a_platform_named_in_other_words(question: str, answer: str) -> None:
    assert missing_evidence(question, ["How to sign in.", answer]) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("is there an iPhone app?", "Download Acme from the App Store."),
        ("does the android app support dark mode", "In the Android app, open Settings > Theme."),
        ("can I use it on my tablet", "On tablets the sidebar stays open."),
        ("is there a mobile version of the dashboard", "The dashboard adapts to mobile screens."),
        ("how do I enable notifications on my phone", "On iOS, open Settings > Notifications."),
        ("does the game run on Windows 10?", "Minimum: Windows 10 64-bit, 8 GB RAM."),
        ("does it run on windows 11", "The desktop app runs on Windows 10 or later."),
        ("can I use the printer on my mac", "On macOS, add the printer in System Settings."),
        ("does it work on a MacBook with Apple silicon", "Native on Apple silicon (M1 and later)."),
        ("is there a linux version", "We publish Linux builds for every release."),
        ("can I play on my phone", "The game is available for iOS and Android."),
        ("can I pair the headphones with an android phone", "On Android, open Bluetooth."),
        ("does the camera work with my iPhone", "Set up the camera in the iOS app."),
        ("can I control the thermostat from my smartphone", "Use the app on any smartphone."),
        ("can I print from my iPad", "Print from iPhone or iPad with AirPrint."),
        ("is there a tablet app", "The app is optimised for tablets."),
        ("can I sign documents on my phone", "Open the email on your mobile device and sign."),
        ("can I use it in a mobile browser", "Any mobile browser works."),
        ("does the keyboard work with a mac", "Press Fn+M to switch the layout to Mac."),
        ("Gibt es eine App für Android?", "Die App gibt es bei Google Play."),
        ("Funktioniert es auf dem iPhone?", "Die App läuft auf jedem Smartphone mit iOS 15."),
    ],
)
def test_platform_questions_of_other_help_centers(question: str, answer: str) -> None:
    """Games, hardware, SaaS: each answered by a passage in its help center's own words."""
    assert missing_evidence(question, ["How to sign in.", answer]) is None


def test_platform_matches_marks_the_passages_that_name_the_platform_asked_about() -> None:
    passages = [
        "Install on Windows: run setup.exe.",
        "Install on macOS: drag the app to Applications.",
        "Install on Linux: install the .deb package.",
        "Sign in with your email.",
    ]
    assert platform_matches("install it on my macbook", passages) == [False, True, False, False]
    assert platform_matches("does it run on ubuntu", passages) == [False, False, True, False]
    assert platform_matches("how do I install it", passages) == [False] * 4
    # a window of the app is no platform
    assert platform_matches("open it in a new window", passages) == [False] * 4


# Whether it costs anything at all: a trial, a free plan.
@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("is there a free trial?", "Every plan starts with a 14-day trial."),
        ("is it free?", "Acme is free for up to three users."),
        ("can I use it for free", "The Starter plan costs nothing."),
        ("is there a free version", "The free plan includes 2 projects."),
        ("is the app really free", "The app is free to download."),
        ("gibt es eine kostenlose Testphase", "Die Testphase dauert 30 Tage."),
    ],
)
def test_whether_it_costs_anything_needs_money_or_a_trial_in_a_passage(
    question: str, answer: str
) -> None:
    assert missing_evidence(question, [UNRELATED_PASSAGE]) == "price"
    assert missing_evidence(question, [UNRELATED_PASSAGE, answer]) is None


@pytest.mark.parametrize(
    "question",
    [
        "how do I free up space",
        "is the parking free of charge for visitors",  # asks, and "free of charge" answers
        "is the meeting room free at 3pm",
        "are you free to talk",
    ],
)
def test_free_that_asks_no_price(question: str) -> None:
    assert missing_evidence(question, ["Free of charge.", UNRELATED_PASSAGE]) is None


# Ways to run it that a help center names when they exist: self-hosted, an API, a browser
# extension, offline, hosted in a region.
@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("can I self-host it?", "Run the server on your own servers with Docker."),
        ("is there an on-premise version", "An on-premises edition is available."),
        ("do you have an API", "The REST API lets you read and write tickets."),
        ("is there a public api", "Developers can use webhooks and the SDK."),
        ("is there a chrome extension", "Install the extension from the Chrome Web Store."),
        ("do you have a firefox add-on", "Our add-on works in Firefox and Edge."),
        ("does it work offline", "Notes you open are cached for offline use."),
        ("can I use it without internet", "Without a connection, changes are saved locally."),
        ("are your servers in the EU", "All data is hosted in Frankfurt, Germany."),
        ("where are your servers", "We run on AWS in the eu-west-1 region."),
        ("do you offer data residency", "Choose the region where your data resides."),
    ],
)
def test_a_way_to_run_it_needs_its_name_in_a_passage(question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED_PASSAGE]) == "platform"
    assert missing_evidence(question, [UNRELATED_PASSAGE, answer]) is None


@pytest.mark.parametrize(
    "question",
    [
        "how do I call the api from python",  # asks how, not whether there is one
        "my api key stopped working",
        "the extension cord is too short",
        "where is my data stored on my computer",
        "how do I host a meeting",
        "go offline in chat",  # answered below by a passage that says offline
    ],
)
def test_ways_to_run_it_in_another_sense(question: str) -> None:
    passages = [UNRELATED_PASSAGE, "Set your status to offline to stop new chats."]
    assert missing_evidence(question, passages) is None


# Whether something costs anything, answered in a help center's own words: a hotel's
# complimentary parking, a shop's shipping "on us", a trial one "can try for 14 days".
@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("is the parking free?", "Visitors park free in the garage on Level 2."),
        ("is parking free for guests?", "Parking is complimentary for hotel guests."),
        ("is wifi free at the hotel", "Wi-Fi is included in every room."),
        ("is breakfast free", "Breakfast is included with every room."),
        ("is shipping free?", "Free standard shipping on every order."),
        ("is shipping free?", "Shipping is on us for orders over 50 dollars."),
        ("are software updates free", "Firmware updates are included for the life of the device."),
        ("is the desktop app free", "The app comes with every subscription at no extra cost."),
        ("is it free for students", "Students use Pro free with a school email."),
        ("is there a free trial", "Try Acme free for 14 days."),
        ("is there a free trial for teams", "Teams can evaluate Acme for 30 days."),
        ("can I try it for free", "Sign up and try every feature for 14 days."),
        ("do you offer free shipping", "Orders over 50 € ship free."),
        ("is it free to use", "Acme costs nothing for up to 3 users."),
        ("is cancellation free", "Cancel up to 24 hours before check-in and pay nothing."),
        ("¿tienen prueba gratuita?", "Puedes probarlo 14 días sin tarjeta."),
        ("¿hay una versión gratuita?", "El plan Básico no tiene coste."),
        ("ist die App kostenlos?", "Die App ist im Abo enthalten."),
        # a developer tool's licence, a pharmacy's insurance
        ("is it free?", "Acme is open source under the MIT licence."),
        ("is the flu shot free", "Flu shots are covered by most insurance plans."),
    ],
)
def test_whether_it_is_free_answered_in_other_words(question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED_PASSAGE]) == "price"
    assert missing_evidence(question, [UNRELATED_PASSAGE, answer]) is None


@pytest.mark.parametrize(
    "question",
    [
        # free as available: a seat, a room, a name, a person
        "is the seat free",
        "is the room free tomorrow",
        "is the username free",
        "is the domain free",
        "are they free on friday",
        "is he free tomorrow",
        "is my tutor free this afternoon",
        # what a trial or a free plan does, not whether it costs anything
        "how do I cancel my free trial",
        "how do I extend my free trial",
        "what happens when my free trial ends",
        "how to add users on the free plan",
        "is the free plan limited to 3 users",
        "what's in the free plan",
        "what is the trial period",
        "can I use the free version on two devices",
        "wie kündige ich die kostenlose Testphase",
        "¿cómo cancelo mi prueba gratuita?",
    ],
)
def test_free_and_trials_that_ask_no_price(question: str) -> None:
    assert not asks_about_money(question)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a device, an agent or a site that shows offline: troubleshooting, answered without
        # the word (the passage's own title is in the text the answer step is given)
        ("the printer shows offline", "Turn the printer off and on, then check the Wi-Fi light."),
        ("my camera keeps going offline", "Move the hub closer to the router and restart it."),
        ("why is my thermostat offline", "Check that the thermostat is connected to Wi-Fi."),
        ("how do I appear offline", "Set your status to Invisible."),
        ("why does my agent show offline", "An agent is away when the browser tab is closed."),
        ("can customers message us when we are offline", "The widget shows a contact form."),
        ("how do I pay offline", "Pay in cash at any store."),
        ("the game says you are offline", "Check your connection and sign in again."),
        # an API's key or limit, an extension that misbehaves, the customer's own servers
        ("is there an api rate limit", "Each key may send 100 requests a minute."),
        ("is there an API key I can use", "Create a key under Settings > Integrations."),
        ("the chrome extension won't load", "Clear your cache and restart Chrome."),
        ("my browser extension blocks the widget", "Ad blockers can hide the chat widget."),
        ("how do I update my self-hosted instance", "Pull the latest image and restart."),
        ("how do I connect a self-hosted runner", "Register the runner with the token."),
        ("can I connect my on-premise Exchange server", "Enter the EWS URL of your Exchange."),
        # a data center that is the product's, an order in a warehouse
        ("how do I move my VMs to another data center", "Use Migrate in the console."),
        ("the data center is down", "See the status page for incidents."),
        ("is my order stored in the EU warehouse", "Orders ship from the nearest warehouse."),
    ],
)
def test_ways_to_run_it_that_are_not_asked(question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED_PASSAGE, answer]) is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("can I listen to podcasts offline", "Tap Download to save episodes to your phone."),
        ("does the watch work without wifi", "Workouts are recorded and sync later."),
        ("does the camera record when offline", "It records to its SD card if the Wi-Fi drops."),
        ("can I play without wi-fi", "Single player works without Wi-Fi."),
        ("do you have an API", "Use our GraphQL interface to read tickets."),
        ("is there a browser extension", "Install the Acme button for Chrome, Firefox or Safari."),
        ("can I self-host it?", "Install the server package on any Linux machine."),
        ("can I self-host it?", "Acme is cloud only: we run it for you."),
        ("can I host the game on my own server", "Rent a dedicated server or use your own PC."),
        ("is there an on-premise version", "Acme is available only as a cloud service."),
        ("is there a self-hosted version", "Community Edition runs on your own infrastructure."),
        ("are your servers in the EU", "Your data never leaves Germany."),
        ("is my data stored in the EU", "We host everything in Germany."),
        ("is data stored in the US", "All data is kept in Virginia, USA."),
        ("where is my data stored", "Your data is kept in Ireland."),
        ("where do you store my data", "Customer data stays in Canada."),
        ("is my data stored in canada", "Data is stored in Toronto."),
        ("wo werden meine Daten gespeichert", "Die Daten liegen in Frankfurt."),
        ("¿dónde se almacenan mis datos?", "Los datos se guardan en servidores de la UE."),
    ],
)
def test_ways_to_run_it_asked_in_other_words(question: str, answer: str) -> None:
    assert missing_evidence(question, [UNRELATED_PASSAGE]) == "platform"
    assert missing_evidence(question, [UNRELATED_PASSAGE, answer]) is None
