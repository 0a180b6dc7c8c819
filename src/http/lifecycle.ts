/** Server readiness: ready once models are loaded, not ready again from the moment draining starts. */
export class Lifecycle {
  readonly startedAt = new Date();
  private loaded = false;
  private draining = false;
  private readonly drainListeners: (() => void)[] = [];

  markLoaded(): void {
    this.loaded = true;
  }

  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    for (const listener of this.drainListeners) listener();
  }

  /** Runs `listener` when draining starts: work that costs nothing per request before then. */
  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  get ready(): boolean {
    return this.loaded && !this.draining;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
