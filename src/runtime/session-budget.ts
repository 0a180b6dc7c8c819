import type { RuntimeInfo } from './model-runtime.js';

/** Something holding a loaded session that the budget may drop (it reloads on next use). */
export interface BudgetEntry {
  /** For logs: `model 3` or `deployment churn (model 3)`. */
  readonly label: string;
  /** What the session is charged: the model file's size, a fair proxy for ORT's weight memory. */
  readonly bytes: number;
  evict(): Promise<void>;
  /** Where the loaded session runs and how its queue is doing. */
  describe?(): RuntimeInfo | undefined;
}

export interface SessionInfo extends Partial<RuntimeInfo> {
  session: string;
  bytes: number;
}

export interface BudgetStats {
  /** 0 = unlimited. */
  budgetBytes: number;
  usedBytes: number;
  loadedSessions: number;
  evictions: number;
  /** Sessions loaded again after an eviction. */
  reloads: number;
  sessions: SessionInfo[];
}

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The memory budget for loaded sessions, shared by models and deployments: when a load takes the
 * total past the budget, the least recently used sessions are evicted until it fits again.
 * A use only stamps a counter (the hot path: one store per request); the rare eviction sorts.
 */
export class SessionBudget {
  /** Entry -> the tick of its last use. */
  private readonly entries = new Map<BudgetEntry, number>();
  private tick = 0;
  private used = 0;
  private evictions = 0;
  private reloads = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** Charges a freshly loaded session and evicts others, least recently used first, to fit. */
  admit(entry: BudgetEntry, reload = false): void {
    if (reload) this.reloads++;
    if (this.entries.has(entry)) return this.touch(entry);
    this.entries.set(entry, ++this.tick);
    this.used += entry.bytes;
    this.shrink(entry);
  }

  touch(entry: BudgetEntry): void {
    if (this.entries.has(entry)) this.entries.set(entry, ++this.tick);
  }

  /** Stops charging a session (unloaded or closed by its owner). */
  release(entry: BudgetEntry): void {
    if (this.entries.delete(entry)) this.used -= entry.bytes;
  }

  stats(): BudgetStats {
    const sessions = [...this.entries.keys()].map((e) => ({ session: e.label, bytes: e.bytes, ...e.describe?.() }));
    return { budgetBytes: this.maxBytes, usedBytes: this.used, loadedSessions: this.entries.size, evictions: this.evictions, reloads: this.reloads, sessions };
  }

  private shrink(keep: BudgetEntry): void {
    if (this.maxBytes <= 0) return;
    const leastRecentFirst = [...this.entries].sort((a, b) => a[1] - b[1]).map(([entry]) => entry);
    for (const entry of leastRecentFirst) {
      if (this.used <= this.maxBytes) break;
      if (entry === keep) continue; // the one just loaded is about to serve; it may exceed the budget alone
      this.release(entry);
      this.evictions++;
      this.log.info({ session: entry.label, bytes: entry.bytes, usedBytes: this.used, budgetBytes: this.maxBytes }, 'session evicted (memory budget)');
      entry.evict().catch((err: unknown) => this.log.warn({ session: entry.label, err }, 'evicted session did not release cleanly'));
    }
  }
}
