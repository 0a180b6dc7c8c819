import { readFile } from 'node:fs/promises';
import { parseManifest } from '../core/manifest.js';
import { describeModel } from '../core/model-schema.js';
import { OnnxRuntime } from '../runtime/onnx/onnx.runtime.js';

const dims = (shape: number[]) => `[${shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;

/** Prints a model's signature and what Plinth derives from it (and from a manifest, if given). */
export async function inspect(file: string, options: { manifest?: string; json?: boolean }): Promise<void> {
  const bytes = await readFile(file);
  const runtime = await OnnxRuntime.load(bytes, { intraOpThreads: 1 }).catch((err: Error) => {
    throw new Error(`${file} could not be loaded as an ONNX model: ${err.message.split('\n')[0]}`);
  });
  try {
    const manifest = options.manifest ? parseManifest(await readFile(options.manifest, 'utf8')) : {};
    const schema = describeModel(runtime.signature, runtime.graphLabels, manifest);
    if (options.json) {
      console.log(JSON.stringify({ signature: runtime.signature, schema: { ...schema, binding: undefined } }, null, 2));
      return;
    }
    console.log('inputs:');
    for (const t of runtime.signature.inputs) console.log(`  ${t.name}  ${t.datatype}  ${dims(t.shape)}`);
    console.log('outputs:');
    for (const t of runtime.signature.outputs) console.log(`  ${t.name}  ${t.datatype}  ${dims(t.shape)}`);
    console.log(`task: ${schema.task ?? 'unknown (tensor model)'}`);
    if (schema.classes) console.log(`classes: ${schema.classes.join(', ')}`);
    if (schema.features) {
      const shown = schema.features.slice(0, 40).map((f) => `${f.name} (${f.type})`).join(', ');
      console.log(`features (${schema.features.length}): ${shown}${schema.features.length > 40 ? ', ...' : ''}`);
    }
  } finally {
    await runtime.dispose();
  }
}
