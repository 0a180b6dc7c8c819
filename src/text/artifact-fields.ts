/**
 * Reading the fields of a JSON preprocessing artifact: every failure is an Error whose message
 * starts with the artifact's file name and says what was expected, e.g.
 * `tokenizer.json: num_words must be a positive integer or null, got string "ten"`.
 */

export type JsonObject = Record<string, unknown>;

export class ArtifactError extends Error {
  constructor(readonly artifact: string, detail: string) {
    super(`${artifact}: ${detail}`);
    this.name = 'ArtifactError';
  }
}

/** A JSON value as an error message shows it. */
export function shown(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

export const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Field readers bound to one artifact's object. */
export class Fields {
  constructor(readonly artifact: string, readonly doc: JsonObject) {}

  fail(detail: string): never {
    throw new ArtifactError(this.artifact, detail);
  }

  /** Refuses keys outside `known`: an option Plinth does not implement must not be ignored silently. */
  only(known: readonly string[], hint = ''): void {
    for (const key of Object.keys(this.doc)) {
      if (!known.includes(key)) this.fail(`unknown key '${key}'${hint}`);
    }
  }

  has(key: string): boolean {
    return Object.hasOwn(this.doc, key) && this.doc[key] !== undefined;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.doc[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(`${key} must be true or false, got ${shown(v)}`);
    return v;
  }

  string(key: string, fallback: string): string {
    const v = this.doc[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string') this.fail(`${key} must be a string, got ${shown(v)}`);
    return v;
  }

  optionalString(key: string): string | null {
    const v = this.doc[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') this.fail(`${key} must be a string or null, got ${shown(v)}`);
    return v;
  }

  /** An object, or a JSON string holding one (Keras' to_json() stores word_index that way). */
  object(key: string, what: string): JsonObject {
    let v = this.doc[key];
    if (v === undefined || v === null) this.fail(`${key} is missing (expected ${what})`);
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        this.fail(`${key} is a string that is not JSON (expected ${what})`);
      }
    }
    if (!isObject(v)) this.fail(`${key} must be ${what}, got ${shown(v)}`);
    return v;
  }
}

/** Parses an artifact's text as JSON, naming the artifact when it is not. */
export function parseArtifactJson(artifact: string, text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ArtifactError(artifact, `is not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
}
