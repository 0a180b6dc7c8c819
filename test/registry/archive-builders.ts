import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/**
 * Hand-built archives for the intake tests: real archivers refuse to write most of what the
 * intake must refuse ('../' names, links, devices, lying sizes), so the bytes are laid out here.
 */

export interface ZipSpec {
  name: string;
  data?: Buffer;
  /** Unix mode with type bits, stored in the high 16 bits of the external attributes. */
  mode?: number;
  /** 0 = store, 8 = deflate (default). */
  method?: 0 | 8;
  /** Overrides the declared uncompressed size (a lying entry). */
  declaredSize?: number;
  /** Point this entry's central record at an earlier entry's local header (overlap). */
  reuseLocalOf?: number;
}

/** A zip archive, made by "Unix" (3), UTF-8 names; entries laid out exactly as given. */
export function zipBytes(specs: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const spec of specs) {
    const data = spec.data ?? Buffer.alloc(0);
    const method = spec.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const name = Buffer.from(spec.name, 'utf8');
    const crc = crc32(data) >>> 0;
    const size = spec.declaredSize ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const localOffset = spec.reuseLocalOf !== undefined ? offsets[spec.reuseLocalOf]! : offset;
    offsets.push(offset);
    locals.push(local, name, body);
    offset += local.length + name.length + body.length;

    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((spec.mode ?? (spec.name.endsWith('/') ? 0o040755 : 0o100644)) << 16) >>> 0, 38);
    cd.writeUInt32LE(localOffset, 42);
    central.push(cd, name);
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(specs.length, 8);
  eocd.writeUInt16LE(specs.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBytes, eocd]);
}

export interface TarSpec {
  name: string;
  data?: Buffer;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' FIFO. */
  type?: string;
  linkname?: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header block; names up to 100 bytes (no prefix field needed for these tests). */
export function tarHeader(spec: TarSpec, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(spec.name, 0, 100, 'utf8');
  h.write(octal(spec.type === '5' ? 0o755 : 0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder
  h.write(spec.type ?? '0', 156, 'ascii');
  if (spec.linkname) h.write(spec.linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

export function tarBytes(specs: TarSpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const spec of specs) {
    const data = spec.data ?? Buffer.alloc(0);
    blocks.push(tarHeader(spec, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const tgzBytes = (specs: TarSpec[]) => gzipSync(tarBytes(specs));

/** A pickle as pickle.dumps({'a': 1}, protocol=4) writes it: PROTO 4, FRAME, ..., STOP. */
export const PICKLE = Buffer.from('80049509000000000000007d94288c0161944b01752e', 'hex');

/** The start of a torch.save zip: a zip whose first member is archive/data.pkl. */
export const torchZip = () =>
  zipBytes([
    { name: 'archive/data.pkl', data: PICKLE, method: 0 },
    { name: 'archive/version', data: Buffer.from('3\n'), method: 0 },
  ]);

const ONNX_WRITER = `
syntax = "proto2";
package onnx;
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}
message AttributeProto { optional string name = 1; optional TensorProto t = 5; optional GraphProto g = 6; optional int32 type = 20; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; optional string op_type = 4; repeated AttributeProto attribute = 5;
}
message TypeProto { message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; } optional Tensor tensor_type = 1; }
message TensorShapeProto { message Dimension { optional int64 dim_value = 1; } repeated Dimension dim = 1; }
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; }
message GraphProto {
  repeated NodeProto node = 1; optional string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message ModelProto { optional int64 ir_version = 1; optional GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
`;
const Model = protobuf.parse(ONNX_WRITER, { keepCase: true }).root.lookupType('onnx.ModelProto');

const FLOAT = 1;
const floatInfo = (name: string) => ({ name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_value: 1 }, { dim_value: 2 }] } } } });

/**
 * y = x + W with W [1, 2] float. `location` set: W is ONNX external data in that file (offset 0,
 * length 8); `inSubgraph`: W is instead a Constant inside an If's then-branch, to prove tensors in
 * node attributes of subgraphs are found too.
 */
export function onnxModel(options: { location?: string; inSubgraph?: boolean } = {}): Buffer {
  const weights = Buffer.from(new Float32Array([1, 2]).buffer);
  const W = options.location === undefined
    ? { name: 'W', dims: [1, 2], data_type: FLOAT, raw_data: weights }
    : {
        name: 'W', dims: [1, 2], data_type: FLOAT, data_location: 1,
        external_data: [{ key: 'location', value: options.location }, { key: 'offset', value: '0' }, { key: 'length', value: '8' }],
      };
  const graph = options.inSubgraph
    ? {
        name: 'g',
        node: [
          { input: [], output: ['W'], op_type: 'If', attribute: [{ name: 'then_branch', type: 5, g: { name: 'then', node: [{ output: ['c'], op_type: 'Constant', attribute: [{ name: 'value', type: 4, t: W }] }] } }] },
          { input: ['x', 'W'], output: ['y'], op_type: 'Add' },
        ],
        input: [floatInfo('x')],
        output: [floatInfo('y')],
      }
    : { name: 'g', node: [{ input: ['x', 'W'], output: ['y'], op_type: 'Add' }], initializer: [W], input: [floatInfo('x')], output: [floatInfo('y')] };
  return Buffer.from(Model.encode(Model.fromObject({ ir_version: 8, opset_import: [{ domain: '', version: 15 }], graph })).finish());
}
