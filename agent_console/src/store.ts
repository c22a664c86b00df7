// A tiny observable: the model notifies, components re-render (batched per animation frame).
import { useEffect, useState } from "preact/hooks";

type Listener = () => void;

export class Observable {
  private listeners = new Set<Listener>();
  private scheduled = false;

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const listener of [...this.listeners]) listener();
    });
  }
}

/** Re-render the calling component whenever the observable changes. */
export function useObservable(observable: Observable): void {
  const [, setTick] = useState(0);
  useEffect(() => observable.subscribe(() => setTick((n) => n + 1)), [observable]);
}

/** Re-render every `ms` (wait times that tick). */
export function useTicker(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
