import { datatypeInfo, type Datatype } from './datatypes.js';
import { invalidInput } from './errors.js';
import { elementCount, type Tensor } from './tensor.js';

/**
 * The Open Inference Protocol's binary tensor format: fixed-size elements little-endian in
 * row-major order; BOOL one byte each; BYTES each element a 4-byte little-endian length and
 * then its bytes.
 */
export function decodeBinaryTensor(name: string, datatype: Datatype, shape: number[], bytes: Buffer): Tensor {
  const info = datatypeInfo(datatype);
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    const data: string[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (offset + 4 > bytes.length) throw invalidInput(`input '${name}': truncated BYTES length prefix at byte ${offset}`);
      const len = bytes.readUInt32LE(offset);
      offset += 4;
      if (offset + len > bytes.length) throw invalidInput(`input '${name}': BYTES element ${data.length} runs past binary_data_size`);
      data.push(bytes.toString('utf8', offset, offset + len));
      offset += len;
    }
    if (data.length !== count) throw invalidInput(`input '${name}': shape [${shape.join(', ')}] needs ${count} elements, got ${data.length}`);
    return { name, datatype, shape, data };
  }
  if (bytes.length !== count * info.size) {
    throw invalidInput(
      `input '${name}': shape [${shape.join(', ')}] of ${datatype} needs ${count * info.size} bytes, binary_data_size gives ${bytes.length}`,
    );
  }
  const data = info.create(count);
  // Copy into the typed array's own (aligned) buffer; the request buffer may be unaligned.
  new Uint8Array((data as Uint8Array).buffer).set(bytes);
  return { name, datatype, shape, data };
}

export function encodeBinaryTensor(tensor: Tensor): Buffer {
  if (tensor.datatype === 'BYTES') {
    const parts: Buffer[] = [];
    for (const s of tensor.data as string[]) {
      const body = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      parts.push(len, body);
    }
    return Buffer.concat(parts);
  }
  const view = tensor.data as Uint8Array;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
