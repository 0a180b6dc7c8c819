import { modelUnavailable } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import type { ModelSchema, Signature } from '../core/model-schema.js';
import type { ReadyModel } from './model-runtime.js';
import type { BudgetEntry, SessionBudget } from './session-budget.js';

export interface ModelSource {
  file: string;
  manifest: Manifest;
}

/**
 * One servable model version whose session the memory budget may evict; the next request
 * reloads it (counted by the budget). What describes it (name, version, schema) stays known
 * while evicted, so listings and `best` need no reload.
 */
export class LazyModel implements BudgetEntry {
  private model?: ReadyModel;
  private loading?: Promise<ReadyModel>;
  private closed = false;

  private constructor(
    readonly label: string,
    readonly bytes: number,
    private readonly load: () => Promise<ReadyModel>,
    private readonly budget: SessionBudget,
    first: ReadyModel,
    /** The local model file and its manifest: what an explainer reads (graph, background). */
    readonly source?: ModelSource,
  ) {
    this.model = first;
    this.name = first.name;
    this.version = first.version;
    this.schema = first.schema;
    this.signature = first.runtime.signature;
  }

  readonly name: string;
  readonly version: string;
  readonly schema: ModelSchema;
  readonly signature: Signature;

  /** Loads now (throws the runtime's reason) and charges the budget. */
  static async open(label: string, bytes: number, load: () => Promise<ReadyModel>, budget: SessionBudget, source?: ModelSource): Promise<LazyModel> {
    const lazy = new LazyModel(label, bytes, load, budget, await load(), source);
    budget.admit(lazy);
    return lazy;
  }

  describe() {
    return this.model?.runtime.describe?.();
  }

  get loaded(): boolean {
    return this.model !== undefined;
  }

  /** The loaded model, without a promise on the hot path; reloads (once, shared) when evicted. */
  acquire(): ReadyModel | Promise<ReadyModel> {
    if (this.model) {
      this.budget.touch(this);
      return this.model;
    }
    if (this.closed) throw modelUnavailable(this.name, this.version, 'unloaded');
    return (this.loading ??= this.reload());
  }

  private async reload(): Promise<ReadyModel> {
    try {
      const model = await this.load();
      if (this.closed) {
        await model.runtime.dispose();
        throw modelUnavailable(this.name, this.version, 'unloaded');
      }
      this.model = model;
      this.budget.admit(this, true);
      return model;
    } finally {
      this.loading = undefined;
    }
  }

  /** Drops the session (after its runs in flight); the next acquire reloads it. */
  async evict(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    await model?.runtime.dispose();
  }

  /** Drops the session for good. */
  async close(): Promise<void> {
    this.closed = true;
    this.budget.release(this);
    await this.loading?.catch(() => undefined);
    await this.evict();
  }
}
