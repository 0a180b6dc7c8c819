/**
 * Writes each example model's background.csv (the rows explanations average over: SHAP base
 * values, tree cover, kernel SHAP) from data in the repository, keeping only the model's
 * features, and points model.yaml's `background` at it. Run: node --import tsx examples/build-backgrounds.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCES: Record<string, { file: string; every: number }> = {
  'breast-cancer': { file: resolve(ROOT, '../shared/fixtures/breast_cancer.csv'), every: 6 },
  iris: { file: join(ROOT, 'examples/data/iris.csv'), every: 1 },
  'credit-risk': { file: join(ROOT, 'examples/data/credit-risk.csv'), every: 1 },
};

for (const [model, { file, every }] of Object.entries(SOURCES)) {
  const folder = join(ROOT, 'examples/models', model, '1');
  const yamlText = readFileSync(join(folder, 'model.yaml'), 'utf8');
  const features = (parseYaml(yamlText) as { features: { name: string }[] }).features.map((f) => f.name);
  const rows = (parseCsv(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[]).filter((_, i) => i % every === 0);
  const csv = [features.join(','), ...rows.map((r) => features.map((f) => r[f]).join(','))].join('\n') + '\n';
  writeFileSync(join(folder, 'background.csv'), csv);
  if (!/^background:/m.test(yamlText)) writeFileSync(join(folder, 'model.yaml'), `${yamlText.trimEnd()}\nbackground: background.csv\n`);
  console.log(`${model}: ${rows.length} background rows`);
}
