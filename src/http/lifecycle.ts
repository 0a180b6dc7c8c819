/** Server readiness: ready once models are loaded, not ready again from the moment draining starts. */
export class Lifecycle {
  readonly startedAt = new Date();
  private loaded = false;
  private draining = false;

  markLoaded(): void {
    this.loaded = true;
  }

  startDraining(): void {
    this.draining = true;
  }

  get ready(): boolean {
    return this.loaded && !this.draining;
  }

  get isDraining(): boolean {
    return this.draining;
  }
}
