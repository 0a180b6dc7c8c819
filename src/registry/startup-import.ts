import { dirname } from 'node:path';
import { loadFailureReason } from '../core/errors.js';
import type { ModelFolderSource } from '../storage/model-folder.source.js';
import type { ModelRegistryService } from './model-registry.service.js';
import type { ImportResult } from './registry.types.js';
import type { RefusedImport } from './registry-model.source.js';

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Imports every model version in the `--models` folder into the registry's default space, in
 * version order so a fresh registry numbers them as the folder does. Idempotent by the digest
 * of model.onnx and its manifest, so restarts add nothing. Returns the versions it added and
 * what the registry refused, with the reason.
 */
export async function importModelFolder(
  registry: ModelRegistryService,
  folder: ModelFolderSource,
  log: Logger,
): Promise<{ imported: ImportResult[]; refused: RefusedImport[] }> {
  const scan = await folder.scan();
  for (const s of scan.skipped) log.warn(s, 'model repository entry skipped');
  const refused: RefusedImport[] = [];
  const imported: ImportResult[] = [];
  for (const { name, versions } of scan.models) {
    for (const version of versions) {
      const files = folder.find(name, version);
      try {
        const result = files.inFolder
          ? await registry.importFolderModel(name, dirname(files.model))
          : await registry.importFolderModel(name, files.model, { manifestFile: files.manifest });
        if (result.imported) imported.push(result);
        if (result.imported) log.info({ model: name, folderVersion: version, version: result.version.version }, 'model imported into the registry');
      } catch (err) {
        const reason = loadFailureReason(err);
        log.warn({ model: name, version, reason }, 'model not imported');
        refused.push({ name, version, reason });
      }
    }
  }
  return { imported, refused };
}
