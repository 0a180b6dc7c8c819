import { loadFailureReason } from '../core/errors.js';
import { explainerFor } from '../inference/explainer.factory.js';
import type { BatchModel } from './batch-model.resolver.js';
import { assertExplainable, batchExplanationProblem } from './explanation-columns.js';

/** Nothing runs at submission: the explainer is built only to see what it would need. */
const notRunHere = () => {
  throw new Error('the model is not run at submission');
};

/**
 * The submission-time check of `explanations: true`: builds the version's explainer as the
 * worker will (graph, manifest background) and refuses the job when it could not explain (a
 * 400 naming the fix), instead of failing once it runs. Verdicts are kept per model file (a
 * version's local copy never changes), so schedules and repeated submissions do not read the
 * graph on the event loop every time.
 */
export class BatchExplainability {
  private static readonly MAX = 64;
  private readonly verdicts = new Map<string, Promise<string | undefined>>();

  constructor(private readonly modelFile: (model: BatchModel) => Promise<string>) {}

  async check(model: BatchModel): Promise<void> {
    const file = await this.modelFile(model);
    let verdict = this.verdicts.get(file);
    if (!verdict) {
      verdict = explainerFor({ file, manifest: model.manifest, schema: model.schema, runtime: notRunHere }).then(
        batchExplanationProblem,
        (err: unknown) => `its explainer could not be built: ${loadFailureReason(err)}`,
      );
      if (this.verdicts.size >= BatchExplainability.MAX) this.verdicts.clear();
      this.verdicts.set(file, verdict);
    }
    assertExplainable(await verdict, model.uri);
  }
}
