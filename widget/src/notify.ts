// Getting attention for a new message while the chat is closed or the tab is in the
// background: a blinking title and, when the site opts in, a short chime.

export class Attention {
  #original = "";
  #timer = 0;
  #audio: AudioContext | null = null;

  constructor(
    readonly title: boolean,
    readonly sound: boolean,
  ) {}

  alert(text: string): void {
    if (this.title) this.#blink(text);
    if (this.sound) this.#chime();
  }

  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = 0;
    document.title = this.#original;
  }

  #blink(text: string): void {
    if (this.#timer) clearInterval(this.#timer);
    else this.#original = document.title;
    let showing = true;
    document.title = text;
    this.#timer = setInterval(() => {
      showing = !showing;
      document.title = showing ? text : this.#original;
    }, 1200);
  }

  #chime(): void {
    try {
      // Browsers let audio play once the visitor has interacted with the page; before that
      // the context stays suspended and the chime is silently skipped.
      this.#audio ??= new AudioContext();
      const audio = this.#audio;
      if (audio.state === "suspended") void audio.resume();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      const now = audio.currentTime;
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, now);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
      tone.connect(gain).connect(audio.destination);
      tone.start(now);
      tone.stop(now + 0.3);
    } catch {
      // No Web Audio here: the title still blinks.
    }
  }
}
