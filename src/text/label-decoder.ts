import { ArtifactError, isObject, shown } from './artifact-fields.js';

/**
 * A label encoder's class list (scikit-learn `LabelEncoder.classes_`): class index i is
 * category `classes[i]`, the column order of the model's probabilities.
 */
export class LabelDecoder {
  constructor(readonly classes: readonly string[]) {}

  /** `["greeting", "goodbye", ...]` or `{"classes": [...]}`; numbers become their decimal strings. */
  static fromArtifact(doc: unknown, artifact: string): LabelDecoder {
    let list = doc;
    if (isObject(doc)) {
      const extra = Object.keys(doc).find((k) => k !== 'classes' && k !== 'type');
      if (extra) throw new ArtifactError(artifact, `unknown key '${extra}' (expected classes)`);
      list = doc.classes;
    }
    if (!Array.isArray(list)) {
      throw new ArtifactError(artifact, `expected the label encoder's classes_ as a list, or {"classes": [...]}, got ${shown(list)}`);
    }
    if (list.length < 2) throw new ArtifactError(artifact, `expected at least 2 classes, got ${list.length}`);
    const seen = new Map<string, number>();
    const classes = list.map((c, i) => {
      if (!(typeof c === 'string' || (typeof c === 'number' && Number.isFinite(c)) || typeof c === 'boolean')) {
        throw new ArtifactError(artifact, `classes[${i}] must be a string or a number, got ${shown(c)}`);
      }
      const name = String(c);
      if (seen.has(name)) throw new ArtifactError(artifact, `classes[${seen.get(name)}] and classes[${i}] are both ${JSON.stringify(name)}`);
      seen.set(name, i);
      return name;
    });
    return new LabelDecoder(classes);
  }

  get size(): number {
    return this.classes.length;
  }

  /** The category of a class index; throws on an index outside the list. */
  decode(index: number | bigint): string {
    const i = Number(index);
    const name = Number.isInteger(i) ? this.classes[i] : undefined;
    if (name === undefined) throw new RangeError(`class index ${String(index)} is outside 0..${this.classes.length - 1}`);
    return name;
  }

  /** The category with the highest score in a row (the first one on ties, as numpy's argmax). */
  argmax(scores: ArrayLike<number>): string {
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
    return this.decode(best);
  }
}
