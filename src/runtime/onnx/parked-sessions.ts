import type { OrtThread } from './ort-thread.js';

interface Parked {
  thread: OrtThread;
  intraOpThreads: number;
  timer: NodeJS.Timeout;
}

/**
 * Sessions that upload validation loaded in a thread, kept for a short while under the model
 * file's SHA-256 so that serving the new version takes the same session instead of loading the
 * model a second time (a 150k-node graph takes seconds to load). Unclaimed ones are released
 * after `keepMs`, and at most `max` wait at once (a burst of uploads to spaces nothing serves
 * yet must not pile up threads): past it the oldest is released.
 */
export class ParkedSessions {
  private readonly parked = new Map<string, Parked>();

  constructor(
    private readonly keepMs = 60_000,
    private readonly max = 4,
  ) {}

  /** Keeps a validated session for serving; a second one for the same digest replaces the first. */
  park(digest: string, thread: OrtThread, intraOpThreads: number): void {
    this.release(digest);
    // A Map iterates in insertion order: the first key is the oldest parked.
    while (this.parked.size >= this.max) this.release(this.parked.keys().next().value!);
    const timer = setTimeout(() => this.release(digest), this.keepMs);
    timer.unref();
    this.parked.set(digest, { thread, intraOpThreads, timer });
  }

  /** The parked session for this model file, if it was loaded with the same thread count. */
  take(digest: string, intraOpThreads: number): OrtThread | undefined {
    const entry = this.parked.get(digest);
    if (!entry || entry.intraOpThreads !== intraOpThreads) return undefined;
    clearTimeout(entry.timer);
    this.parked.delete(digest);
    return entry.thread;
  }

  private release(digest: string): void {
    const entry = this.parked.get(digest);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.parked.delete(digest);
    void entry.thread.dispose();
  }

  async close(): Promise<void> {
    await Promise.all([...this.parked.values()].map((e) => (clearTimeout(e.timer), e.thread.dispose())));
    this.parked.clear();
  }
}
