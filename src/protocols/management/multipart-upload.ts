import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Multipart, MultipartFile } from '@fastify/multipart';
import { invalidInput, PlinthError, printable } from '../../core/errors.js';
import { formatBytes, tooLarge } from '../../registry/artifact-policy.js';

/**
 * A model upload as multipart/form-data, streamed: text fields `description` and `tags`
 * (comma-separated) first, then one file part named `file`. The file part goes to the registry
 * as a stream while it arrives; nothing here buffers it.
 *
 * Fields must come before the file: the registry takes them with the stream. A field or a second
 * file after `file` is refused (400) before the version is registered, because the stream handed
 * to the registry ends only once the whole form has been read (UploadGate below).
 */

/** Room for the form's text fields and part headers on top of the file itself. */
export const FORM_OVERHEAD_BYTES = 1024 * 1024;
const FIELD_MAX_BYTES = 64 * 1024;
const FIELDS = ['description', 'tags'] as const;
const FILE_FIELD = 'file';

/** busboy's limits for one upload form: one file of at most `maxUploadBytes`, a few small fields. */
export function formLimits(maxUploadBytes: number) {
  return { fileSize: maxUploadBytes, files: 1, fields: 8, parts: 10, fieldNameSize: 100, fieldSize: FIELD_MAX_BYTES, headerPairs: 20 };
}

const refuseTooLarge = (limit: number) => tooLarge(`the upload is larger than the ${formatBytes(limit)} upload limit`);

/**
 * onRequest check, before any of the body is read: the content type must be multipart/form-data
 * (415), and a declared Content-Length past the limit is refused at once (413). The refusal
 * closes the connection, so the client's unread body is never read.
 */
export function checkUploadHeaders(maxUploadBytes: number) {
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const type = String(request.headers['content-type'] ?? '');
    if (!/^multipart\/form-data\s*(;|$)/i.test(type)) {
      return done(
        new PlinthError(
          'UNSUPPORTED_MEDIA_TYPE',
          `content-type '${printable(type || 'none', 60)}' is not supported here: upload the model as multipart/form-data with the file in a part named 'file' (curl -F file=@model.onnx)`,
          { connection: 'close' },
        ),
      );
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxUploadBytes + FORM_OVERHEAD_BYTES) {
      const error = refuseTooLarge(maxUploadBytes);
      return done(new PlinthError(error.code, `${error.message} (Content-Length is ${formatBytes(declared)})`, { connection: 'close' }));
    }
    done();
  };
}

export interface UploadForm {
  /** The client's file name: its extension picks the format. */
  filename: string;
  /** The file's bytes; ends only after the rest of the form was read and found empty. */
  stream: Transform;
  description?: string;
  tags?: string[];
}

/**
 * Passes the file part through and holds its end until the rest of the form is known: a part
 * after the file fails the stream (so the registry registers nothing), and so does a file cut
 * short by the size limit (busboy truncates silently; the intake would otherwise see exactly
 * `limit` bytes and accept them).
 */
class UploadGate extends Transform {
  constructor(private readonly file: MultipartFile['file'], private readonly rest: Promise<void>, private readonly limit: number) {
    super();
    file.once('limit', () => this.destroy(refuseTooLarge(limit)));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.file.truncated) return done(refuseTooLarge(this.limit));
    this.rest.then(() => done(), (err: unknown) => done(uploadError(err, this.limit) as Error));
  }
}

function fieldValue(part: Extract<Multipart, { type: 'field' }>): string {
  if (part.valueTruncated) throw invalidInput(`form field '${part.fieldname}' is longer than ${formatBytes(FIELD_MAX_BYTES)}`);
  return typeof part.value === 'string' ? part.value : String(part.value);
}

/** The form up to and including the file part; the file itself is still arriving. */
export async function openUpload(request: FastifyRequest, maxUploadBytes: number): Promise<UploadForm> {
  const parts = request.parts({ limits: formLimits(maxUploadBytes) })[Symbol.asyncIterator]();
  let description: string | undefined;
  let tags: string[] | undefined;
  for (;;) {
    const next = await parts.next();
    if (next.done) {
      throw invalidInput(`the form has no part named '${FILE_FIELD}': send the model file in it (curl -F ${FILE_FIELD}=@model.onnx)`);
    }
    const part = next.value;
    if (part.type === 'field') {
      const name = part.fieldname;
      if (!(FIELDS as readonly string[]).includes(name)) {
        const hint = name === FILE_FIELD ? ` ('${FILE_FIELD}' must be a file part, with a file name: curl -F ${FILE_FIELD}=@model.onnx)` : '';
        throw invalidInput(`unknown form field '${printable(name, 60)}': expected ${FIELDS.join(', ')} and ${FILE_FIELD}${hint}`);
      }
      const value = fieldValue(part);
      if (name === 'description') {
        if (description !== undefined) throw invalidInput("form field 'description' was sent twice");
        description = value;
      } else {
        const list = value.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
        tags = [...(tags ?? []), ...list];
      }
      continue;
    }
    if (part.fieldname !== FILE_FIELD) {
      part.file.destroy();
      throw invalidInput(`unexpected file part '${printable(part.fieldname, 60)}': send the model in a part named '${FILE_FIELD}'`);
    }
    if (!part.filename) {
      part.file.destroy();
      throw invalidInput(`part '${FILE_FIELD}' has no file name: its extension (.onnx, .zip, .tar.gz, .tgz, .tar) picks the format`);
    }
    const rest = (async () => {
      const after = await parts.next();
      if (after.done) return;
      const late = after.value;
      if (late.type === 'file') late.file.destroy();
      throw invalidInput(
        late.type === 'file'
          ? `the form holds a second file part '${printable(late.fieldname, 60)}': send exactly one file, in the part named '${FILE_FIELD}'`
          : `form field '${printable(late.fieldname, 60)}' came after the file part: send description and tags before '${FILE_FIELD}'`,
      );
    })();
    rest.catch(() => undefined); // observed through the gate; unobserved when the upload fails first
    const gate = new UploadGate(part.file, rest, maxUploadBytes);
    // Either side failing ends both: a refused upload stops reading the request, an aborted request fails the upload.
    pipeline(part.file, gate).catch(() => undefined);
    return { filename: part.filename, stream: gate, description, tags };
  }
}

/** Multipart parser errors in the catalogue's terms; everything else passes through. */
export function uploadError(err: unknown, maxUploadBytes: number): unknown {
  if (err instanceof PlinthError || !(err instanceof Error)) return err;
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return refuseTooLarge(maxUploadBytes);
    case 'FST_FILES_LIMIT':
      return invalidInput(`the form holds more than one file: send exactly one, in the part named '${FILE_FIELD}'`);
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return invalidInput(`the form has too many parts: send description and tags (optional), then one part named '${FILE_FIELD}'`);
    case 'FST_PROTO_VIOLATION':
      return invalidInput('a form part is named __proto__ or another reserved name');
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return invalidInput('a form field declared as application/json is not valid JSON; send description and tags as plain text');
    case 'FST_MP_PREMATURE_CLOSE':
      return new PlinthError('MALFORMED_BODY', 'the connection closed before the multipart/form-data body was complete');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new PlinthError('UNSUPPORTED_MEDIA_TYPE', "upload the model as multipart/form-data with the file in a part named 'file'");
  }
  // busboy's own parse errors: "Unexpected end of multipart data", "Multipart: Boundary not found", ...
  if (code === undefined && /multipart|boundary|part terminated/i.test(err.message)) {
    return new PlinthError('MALFORMED_BODY', `the multipart/form-data body is malformed: ${printable(err.message, 120)}`);
  }
  return err;
}
