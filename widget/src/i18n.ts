// The widget's texts in English and German. `{x}` placeholders are filled as text. A language
// is one more catalog here (each costs about 1 KB of the gzipped bundle).

const en = {
  openChat: "Open chat",
  closeChat: "Close chat",
  unread: "{n} unread messages",
  greeting: "Hi! How can we help?",
  subtitle: "We're here to help",
  composer: "Write a message…",
  send: "Send",
  attach: "Attach a file",
  messages: "Messages",
  you: "You",
  assistant: "Assistant",
  team: "Support team",
  waiting: "Waiting for a team member",
  queuePosition: "You're number {n} in line",
  queueWait: "about {n} min",
  withAssistant: "You're chatting with our assistant",
  withAgent: "{name} is helping you",
  resolved: "This conversation has been resolved",
  resolvedHint: "Write to reopen it, or start over.",
  newConversation: "Start a new conversation",
  talkToHuman: "Talk to a person",
  offline: "You're offline. We'll send your messages when you're back.",
  cannotConnect: "Can't reach the chat right now. Retrying…",
  sending: "Sending…",
  queued: "Waiting for connection",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
  retry: "Retry",
  remove: "Delete",
  typing: "{name} is typing…",
  prechatTitle: "Before we start",
  prechatIntro: "So we can follow up if the chat gets cut off.",
  name: "Name",
  email: "Email",
  optional: "optional",
  startChat: "Start chat",
  fieldRequired: "Please fill in this field.",
  invalidEmail: "Please enter a valid email address.",
  offlineTitle: "Leave us a message",
  offlineIntro: "We're away right now. Leave your email and we'll reply there.",
  message: "Message",
  sendMessage: "Send message",
  offlineThanks: "Thanks! We'll reply to {email}.",
  hours: "Opening hours: {text}",
  sources: "Sources",
  uploading: "Uploading {name}…",
  uploadFailed: "{name}: {reason}",
  tooLarge: "{name} is larger than {size}.",
  badType: "{name}: this file type isn't allowed.",
  cancel: "Cancel",
  dropFiles: "Drop files here",
  joined: "{name} joined",
  transferred: "Transferred to {name}",
  requeued: "Waiting for the next free team member",
  resolvedNotice: "Conversation resolved",
  reopenedNotice: "Conversation reopened",
  newMessageTitle: "({n}) New message",
  newMessages: "New messages",
  tooLong: "{n} characters too long to send: shorten it or split it in two",
};

export type Strings = typeof en;
export type TextKey = keyof Strings;

const de: Strings = {
  openChat: "Chat öffnen",
  closeChat: "Chat schließen",
  unread: "{n} ungelesene Nachrichten",
  greeting: "Hallo! Wie können wir helfen?",
  subtitle: "Wir helfen Ihnen gerne",
  composer: "Nachricht schreiben…",
  send: "Senden",
  attach: "Datei anhängen",
  messages: "Nachrichten",
  you: "Sie",
  assistant: "Assistent",
  team: "Support-Team",
  waiting: "Gleich ist jemand für Sie da",
  queuePosition: "Sie sind Nummer {n} in der Schlange",
  queueWait: "etwa {n} Min.",
  withAssistant: "Sie chatten mit unserem Assistenten",
  withAgent: "{name} hilft Ihnen",
  resolved: "Diese Unterhaltung wurde abgeschlossen",
  resolvedHint: "Schreiben Sie, um sie fortzusetzen, oder beginnen Sie neu.",
  newConversation: "Neue Unterhaltung beginnen",
  talkToHuman: "Mit einem Menschen sprechen",
  offline: "Sie sind offline. Wir senden, sobald Sie zurück sind.",
  cannotConnect: "Chat nicht erreichbar. Neuer Versuch…",
  sending: "Wird gesendet…",
  queued: "Wartet auf Verbindung",
  sent: "Gesendet",
  delivered: "Zugestellt",
  read: "Gelesen",
  failed: "Nicht gesendet",
  retry: "Erneut senden",
  remove: "Löschen",
  typing: "{name} schreibt…",
  prechatTitle: "Bevor es losgeht",
  prechatIntro: "Damit wir uns melden können, falls der Chat abbricht.",
  name: "Name",
  email: "E-Mail",
  optional: "optional",
  startChat: "Chat starten",
  fieldRequired: "Bitte ausfüllen.",
  invalidEmail: "Bitte eine gültige E-Mail-Adresse eingeben.",
  offlineTitle: "Hinterlassen Sie uns eine Nachricht",
  offlineIntro: "Gerade ist niemand da. Wir antworten Ihnen per E-Mail.",
  message: "Nachricht",
  sendMessage: "Nachricht senden",
  offlineThanks: "Danke! Wir antworten an {email}.",
  hours: "Erreichbar: {text}",
  sources: "Quellen",
  uploading: "{name} wird hochgeladen…",
  uploadFailed: "{name}: {reason}",
  tooLarge: "{name} ist größer als {size}.",
  badType: "{name}: Dieser Dateityp ist nicht erlaubt.",
  cancel: "Abbrechen",
  dropFiles: "Dateien hier ablegen",
  joined: "{name} ist jetzt dabei",
  transferred: "Weitergeleitet an {name}",
  requeued: "Wir suchen das nächste freie Teammitglied",
  resolvedNotice: "Unterhaltung abgeschlossen",
  reopenedNotice: "Unterhaltung wieder geöffnet",
  newMessageTitle: "({n}) Neue Nachricht",
  newMessages: "Neue Nachrichten",
  tooLong: "{n} Zeichen zu lang zum Senden: bitte kürzen oder aufteilen",
};


const CATALOGS: Record<string, Strings> = { en, de };

/** The first supported language among the candidates ("de-AT" counts as "de"). */
export function pickLanguage(...candidates: (string | null | undefined)[]): string {
  for (const candidate of candidates) {
    const base = (candidate ?? "").toLowerCase().split(/[-_]/)[0];
    if (base && base in CATALOGS) return base;
  }
  return "en";
}

export type Translate = (key: TextKey, values?: Record<string, string | number>) => string;

export function translator(language: string): Translate {
  const strings = CATALOGS[language] ?? en;
  return (key, values) =>
    strings[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      values && name in values ? String(values[name]) : whole,
    );
}
