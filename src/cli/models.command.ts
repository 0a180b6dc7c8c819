import { openAsBlob } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { create as createTar } from 'tar';
import { callApi } from './api-client.js';

export interface PushOptions {
  name: string;
  url: string;
  space?: string;
  description?: string;
  /** Comma-separated. */
  tags?: string;
  json?: boolean;
}

export interface ListOptions {
  url: string;
  space?: string;
  name?: string;
  tag?: string;
  json?: boolean;
}

interface VersionBody {
  model: string;
  space: string;
  version: number;
  sha256: string;
  size: number;
  tags: string[];
  artifacts?: { path: string }[];
  manifest?: { xgboost?: unknown } | null;
}

interface ModelBody {
  name: string;
  description: string | null;
  tags: string[];
  updatedAt: string;
}

function apiUrl(base: string, path: string, query: Record<string, string | undefined> = {}): URL {
  let url: URL;
  try {
    url = new URL(path, base);
  } catch {
    throw new Error(`--url '${base}' is not a valid URL (expected e.g. http://127.0.0.1:8080)`);
  }
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  return url;
}

/** What kind of thing `path` is; a readable error when it is neither a file nor a folder. */
async function kindOf(path: string): Promise<'file' | 'folder'> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file or folder' : err.code ?? err.message}`);
  });
  if (info.isDirectory()) return 'folder';
  if (info.isFile()) return 'file';
  throw new Error(`${path} is neither a file nor a folder`);
}

/**
 * Uploads a model folder (packed as a .tar.gz in a temporary file: streamed to disk, never held in
 * memory) or a single file (.onnx, or an archive already made) as the model's next version, and
 * prints the version the server registered.
 */
export async function pushModel(path: string, options: PushOptions): Promise<void> {
  const kind = await kindOf(path);
  const work = kind === 'folder' ? await mkdtemp(join(tmpdir(), 'plinth-push-')) : undefined;
  try {
    let file = resolve(path);
    let filename = basename(file);
    if (work) {
      // The folder's entries by name (not '.'), so the server's messages name 'model.yaml', not './model.yaml'.
      const entries = (await readdir(path)).sort();
      if (entries.length === 0) throw new Error(`${path} is an empty folder; it should hold model.onnx (and model.yaml, artifacts)`);
      filename = `${options.name}.tar.gz`;
      file = join(work, filename);
      // Streamed to the temporary file; portable: no owner names or times from this machine.
      await createTar({ gzip: true, portable: true, cwd: resolve(path), file }, entries);
    }
    const form = new FormData();
    if (options.description !== undefined) form.append('description', options.description);
    if (options.tags !== undefined) form.append('tags', options.tags);
    // Fields go before the file: the server reads the form as a stream, in order.
    form.append('file', await openAsBlob(file), filename);
    const url = apiUrl(options.url, `/api/v1/models/${encodeURIComponent(options.name)}/versions`, { space: options.space });
    const body = (await callApi(url, { method: 'POST', body: form })) as VersionBody;
    if (options.json) {
      console.log(JSON.stringify(body, null, 2));
      return;
    }
    const artifacts = body.artifacts?.length ?? 1;
    console.log(
      `registered ${body.model} version ${body.version} in space ${body.space} (models:/${body.model}/${body.version}): ` +
        // An XGBoost version's size and digest are its booster's (model.onnx is compiled from it).
        `${body.manifest?.xgboost ? 'XGBoost model' : 'model.onnx'} ${body.size} bytes, sha256 ${body.sha256}, ${artifacts} artifact${artifacts === 1 ? '' : 's'}` +
        (body.tags.length ? `, tags ${body.tags.join(', ')}` : ''),
    );
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

/** Prints every model of a space (all pages), one per line, or as JSON. */
export async function listModels(options: ListOptions): Promise<void> {
  const models: ModelBody[] = [];
  let cursor: string | undefined;
  do {
    const url = apiUrl(options.url, '/api/v1/models', { space: options.space, name: options.name, tag: options.tag, limit: '1000', cursor });
    const page = (await callApi(url)) as { items: ModelBody[]; nextCursor?: string };
    models.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  if (options.json) {
    console.log(JSON.stringify(models, null, 2));
    return;
  }
  if (models.length === 0) {
    console.log(`no models in space ${options.space ?? 'default'}`);
    return;
  }
  const width = Math.max(4, ...models.map((m) => m.name.length));
  console.log(`${'NAME'.padEnd(width)}  ${'UPDATED'.padEnd(24)}  TAGS / DESCRIPTION`);
  for (const m of models) {
    const description = (m.description ?? '').replace(/\s+/g, ' ');
    const about = [m.tags.length ? `[${m.tags.join(', ')}]` : '', description.length > 70 ? `${description.slice(0, 70)}...` : description].filter(Boolean).join(' ');
    console.log(`${m.name.padEnd(width)}  ${m.updatedAt.padEnd(24)}  ${about}`);
  }
}
