import { datatypeInfo } from '../../core/datatypes.js';
import type { Signature } from '../../core/model-schema.js';
import { elementCount, type Tensor } from '../../core/tensor.js';
import { InstanceGroup, type QueuePolicy } from '../instance-group.js';
import type { ModelRuntime, RuntimeOptions } from '../model-runtime.js';
import type { ExecutionSettings } from '../execution-settings.js';
import { OnnxRuntime } from './onnx.runtime.js';
import { OrtThread } from './ort-thread.js';
import type { ParkedSessions } from './parked-sessions.js';

/** Where a loaded model runs, and what the auto rule measured to choose it. */
export interface ExecutionChoice {
  execution: 'inline' | 'threads';
  instances: number;
  /** How the choice was made: `explicit`, or the auto rule's measurements. */
  reason: string;
}

/** The thresholds of the auto rule (PLINTH_INLINE_MAX_RUN_US, PLINTH_INLINE_MAX_LOAD_MS). */
export interface AutoRule {
  inlineMaxRunUs: number;
  inlineMaxLoadMs: number;
}

/** What the auto rule decided for one model file (and intra-op thread count). */
export interface AutoVerdict {
  inline: boolean;
  reason: string;
  graphLabels?: (string | number)[];
}

/**
 * What earlier loads leave for this one, by the model file's SHA-256: a session upload validation
 * parked, and the auto rule's verdict, so a reload, a budget reload or another deployment of the
 * same version does not measure it again.
 */
export interface LoadMemory {
  sessions: ParkedSessions;
  verdicts: Map<string, AutoVerdict>;
  digest: string | undefined;
}

export interface LoadedRuntime {
  runtime: ModelRuntime;
  choice: ExecutionChoice;
}

/** One row of zeros (empty strings for BYTES) per input, dynamic dimensions as 1: what the warm-up runs. */
export function warmupInputs(signature: Signature): Tensor[] {
  return signature.inputs.map((spec) => {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    return { name: spec.name, datatype: spec.datatype, shape, data: datatypeInfo(spec.datatype).create(elementCount(shape)) };
  });
}

/** The fastest of three warm-up runs in the thread, in µs; undefined when the model refuses zeros. */
async function measureRun(thread: OrtThread): Promise<number | undefined> {
  const outputs = thread.signature.outputs.map((o) => o.name);
  let best = Infinity;
  try {
    for (let i = 0; i < 3; i++) {
      await thread.run(warmupInputs(thread.signature), outputs);
      best = Math.min(best, thread.lastComputeUs);
    }
  } catch {
    return undefined;
  }
  return best;
}

/**
 * Loads a model where it should run. `inline`: one session on the main thread (the lowest
 * latency; a run blocks the event loop while it computes). `threads`: an instance group of
 * `instances` sessions, each in its own thread, behind a bounded queue. `auto` first loads the
 * model in a thread (so a slow load never blocks the event loop) and warms it up there: a model
 * that loaded within inlineMaxLoadMs and whose one-row run took at most inlineMaxRunUs moves to
 * the main thread, where a small model serves fastest; any other stays in threads. A thread
 * parked by upload validation (same model digest) is taken instead of loading again, and a file
 * measured before keeps its verdict.
 */
export async function loadOnnxModel(
  file: string,
  options: RuntimeOptions,
  settings: ExecutionSettings,
  rule: AutoRule,
  label: string,
  memory?: LoadMemory,
): Promise<LoadedRuntime> {
  const queue: QueuePolicy = { maxQueueSize: settings.maxQueueSize, queueTimeoutMs: settings.queueTimeoutMs };
  const startThread = () => OrtThread.start(file, { intraOpThreads: options.intraOpThreads, niceness: 0 });
  if (settings.execution === 'inline') {
    return { runtime: await OnnxRuntime.load(file, options), choice: { execution: 'inline', instances: 1, reason: 'explicit' } };
  }
  const key = memory?.digest && `${memory.digest}:${options.intraOpThreads}`;
  const known = settings.execution === 'auto' && key ? memory.verdicts.get(key) : undefined;
  if (known?.inline) {
    const reason = `${known.reason} (measured at an earlier load)`;
    return { runtime: await OnnxRuntime.load(file, { ...options, graphLabels: known.graphLabels, reason }), choice: { execution: 'inline', instances: 1, reason } };
  }
  const first = memory?.digest ? memory.sessions.take(memory.digest, options.intraOpThreads) : undefined;
  const threads = [await (first ?? startThread())];
  const adopted = first ? ', first session loaded by upload validation' : '';
  try {
    let reason = `explicit${adopted}`;
    if (known) {
      reason = `${known.reason} (measured at an earlier load)${adopted}`;
    } else if (settings.execution === 'auto') {
      const runUs = await measureRun(threads[0]!);
      const loadMs = Math.round(threads[0]!.loadMs);
      const fast = runUs !== undefined && runUs <= rule.inlineMaxRunUs && loadMs <= rule.inlineMaxLoadMs;
      const measured = `auto: load ${loadMs} ms, one-row run ${runUs === undefined ? 'not measurable' : `${runUs} us`}`;
      if (key) memory!.verdicts.set(key, { inline: fast, reason: measured, ...(threads[0]!.graphLabels && { graphLabels: threads[0]!.graphLabels }) });
      reason = `${measured}${adopted}`;
      if (fast) {
        const runtime = await OnnxRuntime.load(file, { ...options, graphLabels: threads[0]!.graphLabels, reason });
        await threads[0]!.dispose();
        return { runtime, choice: { execution: 'inline', instances: 1, reason } };
      }
    }
    while (threads.length < settings.instances) threads.push(await startThread());
    return { runtime: new InstanceGroup(threads, queue, label, reason), choice: { execution: 'threads', instances: threads.length, reason } };
  } catch (err) {
    await Promise.all(threads.map((t) => t.dispose()));
    throw err;
  }
}
