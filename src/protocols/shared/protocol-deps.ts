import type { Lifecycle } from '../../http/lifecycle.js';
import type { InferenceService } from '../../inference/inference.service.js';
import type { CallContextOf } from './call-context.js';

/** What every protocol adapter gets: the one data plane, readiness, and the server version. */
export interface ProtocolDeps {
  inference: InferenceService;
  lifecycle: Lifecycle;
  version: string;
  /** The request's deadline and disconnect signal, handed to the runs it asks for. */
  call: CallContextOf;
}
