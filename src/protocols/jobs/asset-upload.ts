import { PassThrough } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { invalidInput, PlinthError, printable } from '../../core/errors.js';
import { formLimits } from '../management/multipart-upload.js';

/**
 * A data file as multipart/form-data, streamed: optional text fields `name` and `description`,
 * then the file in a part named `file`. The file's bytes pass straight to the asset service;
 * a file cut short by the size limit fails the stream (busboy would truncate it silently).
 */
export interface AssetForm {
  filename: string;
  stream: PassThrough;
  name?: string;
  description?: string;
}

const FIELDS = ['name', 'description'];

const tooLarge = (limit: number) => new PlinthError('PAYLOAD_TOO_LARGE', `the file is larger than the ${Math.round(limit / (1024 * 1024))} MiB data asset limit (PLINTH_MAX_ASSET_MB)`);

export async function openAssetUpload(request: FastifyRequest, maxBytes: number): Promise<AssetForm> {
  const parts = request.parts({ limits: formLimits(maxBytes) })[Symbol.asyncIterator]();
  const fields: Record<string, string> = {};
  for (;;) {
    const next = await parts.next();
    if (next.done) throw invalidInput("the form has no part named 'file': send the data file in it (curl -F file=@data.csv)");
    const part = next.value;
    if (part.type === 'field') {
      if (!FIELDS.includes(part.fieldname)) throw invalidInput(`unknown form field '${printable(part.fieldname, 60)}': expected name, description and file`);
      if (part.valueTruncated) throw invalidInput(`form field '${part.fieldname}' is too long`);
      fields[part.fieldname] = String(part.value);
      continue;
    }
    if (part.fieldname !== 'file') {
      part.file.resume();
      throw invalidInput(`unexpected file part '${printable(part.fieldname, 60)}': send the data in a part named 'file'`);
    }
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    part.file.once('limit', () => out.destroy(tooLarge(maxBytes)));
    part.file.on('error', (err) => out.destroy(err));
    part.file.pipe(out);
    // Whatever follows the file is read (and ignored) so the request completes.
    part.file.once('end', () => {
      void (async () => {
        try {
          for (let rest = await parts.next(); !rest.done; rest = await parts.next()) if (rest.value.type === 'file') rest.value.file.resume();
        } catch {
          // the stream already failed or ended
        }
      })();
    });
    return { filename: part.filename || 'data', stream: out, name: fields.name, description: fields.description };
  }
}
