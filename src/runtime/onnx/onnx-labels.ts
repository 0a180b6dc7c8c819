/**
 * The class labels an ai.onnx.ml classifier declares in an ONNX model, read from the protobuf
 * wire format directly: the same answer as classLabelsOf(readOnnxGraph(bytes))
 * (runtime/onnx/onnx-graph.reader.ts), without decoding every node and attribute of the graph
 * into objects and without loading protobufjs. The scoring worker needs only this, and a large
 * tree ensemble decodes into megabytes of objects that would stay in the thread's heap for the
 * whole job. Malformed bytes throw.
 */

const CLASSIFIERS = new Set(['TreeEnsembleClassifier', 'LinearClassifier', 'SVMClassifier']);
const utf8 = new TextDecoder();

class Wire {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint that fits a double exactly (tags, lengths). */
  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** An int64 varint (two's complement), as protobufjs reads it with `longs: Number`. */
  int64(): number {
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, value));
      shift += 7n;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** A length-delimited field's bounds. */
  bytes(): [number, number] {
    const length = this.uint();
    const start = this.pos;
    if (start + length > this.end) throw new Error('truncated length-delimited field');
    this.pos = start + length;
    return [start, start + length];
  }

  string(): string {
    const [start, end] = this.bytes();
    return utf8.decode(this.buf.subarray(start, end));
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case 0:
        this.uint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.advance(4);
        return;
      case 3:
        // A group: fields until its end tag.
        for (;;) {
          const tag = this.uint();
          if ((tag & 7) === 4) {
            if (tag >>> 3 !== field) throw new Error('mismatched end group');
            return;
          }
          this.skip(tag & 7, tag >>> 3);
        }
      default:
        throw new Error(`invalid wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new Error('truncated field');
    this.pos += n;
  }
}

/** The fields of a message, in order: [field number, wire type], the reader positioned on the value. */
function* fields(wire: Wire): Generator<[number, number]> {
  while (wire.pos < wire.end) {
    const tag = wire.uint();
    yield [Math.floor(tag / 8), tag % 8];
  }
}

interface Attribute {
  type: number;
  ints: number[];
  strings: string[];
}

// AttributeProto: name = 1, ints = 8, strings = 9, type = 20. Types: INTS = 7, STRINGS = 8.
function readAttribute(buf: Uint8Array, start: number, end: number): [string, Attribute] {
  const wire = new Wire(buf, start, end);
  let name = '';
  let type = 0;
  const ints: number[] = [];
  const strings: string[] = [];
  for (const [field, wireType] of fields(wire)) {
    if (field === 1 && wireType === 2) name = wire.string();
    else if (field === 20 && wireType === 0) type = Number(BigInt.asIntN(32, BigInt(wire.uint())));
    else if (field === 8 && wireType === 0) ints.push(wire.int64());
    else if (field === 8 && wireType === 2) {
      const [s, e] = wire.bytes();
      const packed = new Wire(buf, s, e);
      while (packed.pos < packed.end) ints.push(packed.int64());
    } else if (field === 9 && wireType === 2) strings.push(wire.string());
    else wire.skip(wireType, field);
  }
  return [name, { type, ints, strings }];
}

/** Attribute types onnx-graph.reader keeps (FLOAT, INT, STRING, FLOATS, INTS, STRINGS); others are left out of its map. */
const KEPT_TYPES = new Set([1, 2, 3, 6, 7, 8]);

function labelsOfNode(buf: Uint8Array, attributes: [number, number][]): (string | number)[] | undefined {
  const byName = new Map<string, Attribute>();
  for (const [s, e] of attributes) {
    const [name, attribute] = readAttribute(buf, s, e);
    if (KEPT_TYPES.has(attribute.type)) byName.set(name, attribute);
  }
  const list = (a: Attribute | undefined) => (a === undefined ? undefined : a.type === 7 ? a.ints : a.type === 8 ? a.strings : null);
  const strings = list(byName.get('classlabels_strings'));
  if (Array.isArray(strings) && strings.length) return strings;
  const ints = list(byName.get('classlabels_int64s')) ?? list(byName.get('classlabels_ints'));
  if (Array.isArray(ints) && ints.length) return ints;
  return undefined;
}

/** The class labels of the graph's first ai.onnx.ml classifier that declares some, in probability-column order. */
export function classLabelsOfModel(bytes: Uint8Array): (string | number)[] | undefined {
  // ModelProto.graph = 7; GraphProto.node = 1; NodeProto: op_type = 4, attribute = 5, domain = 7.
  let graph: [number, number] | undefined;
  const model = new Wire(bytes, 0, bytes.length);
  for (const [field, wireType] of fields(model)) {
    if (field === 7 && wireType === 2) graph = model.bytes();
    else model.skip(wireType, field);
  }
  if (!graph) return undefined;
  const g = new Wire(bytes, graph[0], graph[1]);
  for (const [field, wireType] of fields(g)) {
    if (field !== 1 || wireType !== 2) {
      g.skip(wireType, field);
      continue;
    }
    const [s, e] = g.bytes();
    const node = new Wire(bytes, s, e);
    let opType = '';
    let domain = '';
    const attributes: [number, number][] = [];
    for (const [f, w] of fields(node)) {
      if (f === 4 && w === 2) opType = node.string();
      else if (f === 7 && w === 2) domain = node.string();
      else if (f === 5 && w === 2) attributes.push(node.bytes());
      else node.skip(w, f);
    }
    if (domain !== 'ai.onnx.ml' || !CLASSIFIERS.has(opType)) continue;
    const labels = labelsOfNode(bytes, attributes);
    if (labels) return labels;
  }
  return undefined;
}
