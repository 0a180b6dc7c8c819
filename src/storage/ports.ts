/**
 * Ports: every side effect the services need, as interfaces. Concrete adapters live beside
 * this file and are chosen in one place, src/app.ts.
 */

export interface ModelSourceEntry {
  name: string;
  /** Version identifiers, as strings of digits. */
  versions: string[];
}

export interface ModelSourceScan {
  models: ModelSourceEntry[];
  /** Entries the source ignored, with the reason (logged at start-up). */
  skipped: { entry: string; reason: string }[];
}

/** Where model files come from: a folder today, a registry's blob store later. */
export interface ModelSourcePort {
  /** A human-readable location for logs and /service-info. */
  readonly location: string;
  scan(): Promise<ModelSourceScan>;
  /** Bytes of a version found by the last scan; throws if it is gone. */
  readModel(name: string, version: string): Promise<Uint8Array>;
  /** The version's model.yaml text, or undefined when it has none. */
  readManifest(name: string, version: string): Promise<string | undefined>;
}
