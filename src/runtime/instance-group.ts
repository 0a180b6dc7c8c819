import { deadlineExceeded, PlinthError } from '../core/errors.js';
import type { Signature } from '../core/model-schema.js';
import type { Tensor } from '../core/tensor.js';
import type { CallContext, ModelRuntime, RuntimeInfo } from './model-runtime.js';

/** One session that runs one request at a time: an ONNX Runtime thread. */
export interface Instance {
  readonly signature: Signature;
  readonly graphLabels?: (string | number)[];
  /** Microseconds the last finished run computed (for the Retry-After estimate). */
  readonly lastComputeUs: number;
  run(inputs: Tensor[], outputNames: string[]): Promise<Map<string, Tensor>>;
  dispose(): Promise<void>;
}

/** How much waiting an instance group accepts before it sheds load. */
export interface QueuePolicy {
  /** Requests that may wait for a free instance; one more is refused at once (429). */
  maxQueueSize: number;
  /** Longest a request waits for a free instance before it is refused (503). */
  queueTimeoutMs: number;
}

interface Waiting {
  inputs: Tensor[];
  outputNames: string[];
  call: CallContext | undefined;
  resolve(outputs: Map<string, Tensor>): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
  unsubscribe?: () => void;
}

/** Why a caller that went away gets no answer: its request is logged with this, never sent. */
const abandoned = () => new PlinthError('CLIENT_CLOSED', 'the caller disconnected before the model ran');

/**
 * Triton-style instance group: N sessions, each in its own thread, serve one model version; a
 * request runs on a free instance or waits in one bounded FIFO queue. Past `maxQueueSize` it is
 * refused at once (429), past `queueTimeoutMs` in the queue it is refused (503), both with a
 * Retry-After from the queue's length and the runs' measured time; a request whose deadline
 * passes gets 504 whether queued or running (a running run is abandoned: its instance is free
 * again only when ONNX Runtime returns, as a native run cannot be interrupted), and a caller who
 * disconnects while queued is dropped without running. The main thread only posts and receives
 * messages, so health checks and other models keep answering whatever this model costs.
 */
export class InstanceGroup implements ModelRuntime {
  readonly signature: Signature;
  readonly graphLabels?: (string | number)[];
  readonly movesInputs = true;
  private readonly idle: Instance[];
  private readonly queue: Waiting[] = [];
  private busy = 0;
  /** Mean compute time of recent runs, in ms (an exponentially weighted average). */
  private meanRunMs = 0;
  private drained?: () => void;
  /** Finished runs; refusals (429 queue full, 503 queue timeout); 504s while queued or running; callers dropped from the queue. */
  private readonly counts = { runs: 0, rejectedFull: 0, rejectedTimeout: 0, deadlineExceeded: 0, abandoned: 0 };

  constructor(
    private readonly instances: Instance[],
    private readonly policy: QueuePolicy,
    /** For messages: `model 'slow' version 2`. */
    private readonly label: string,
    /** Why the model runs in threads (RuntimeInfo.reason). */
    private readonly reason = 'explicit',
  ) {
    if (instances.length === 0) throw new Error('an instance group needs at least one instance');
    this.signature = instances[0]!.signature;
    this.graphLabels = instances[0]!.graphLabels;
    this.idle = [...instances];
  }

  describe(): RuntimeInfo {
    return { execution: 'threads', reason: this.reason, instances: this.instances.length, busy: this.busy, queued: this.queue.length, ...this.counts };
  }

  /** A request whose deadline has already passed is refused by the InferenceService before it gets here. */
  run(inputs: Tensor[], outputNames: string[], call?: CallContext): Promise<Map<string, Tensor>> {
    return new Promise((resolve, reject) => {
      const waiting: Waiting = { inputs, outputNames, call, resolve, reject };
      const instance = this.idle.pop();
      if (instance) return this.start(instance, waiting);
      if (this.queue.length >= this.policy.maxQueueSize) {
        this.counts.rejectedFull++;
        return reject(this.shed('OVERLOADED', `${this.label} is busy: its queue holds ${this.queue.length} requests (max_queue_size ${this.policy.maxQueueSize}); retry later`));
      }
      this.enqueue(waiting);
    });
  }

  private enqueue(waiting: Waiting): void {
    const { call } = waiting;
    const untilDeadline = call?.deadline === undefined ? Infinity : call.deadline - Date.now();
    const byDeadline = untilDeadline <= this.policy.queueTimeoutMs;
    waiting.timer = setTimeout(() => {
      if (!this.leave(waiting)) return;
      if (byDeadline) {
        this.counts.deadlineExceeded++;
        waiting.reject(deadlineExceeded(this.label));
      } else {
        this.counts.rejectedTimeout++;
        waiting.reject(this.shed('QUEUE_TIMEOUT', `${this.label} did not start within its queue timeout of ${this.policy.queueTimeoutMs} ms; retry later`));
      }
    }, Math.max(0, Math.min(untilDeadline, this.policy.queueTimeoutMs)));
    waiting.unsubscribe = call?.onAbandon?.(() => {
      if (!this.leave(waiting)) return;
      this.counts.abandoned++;
      waiting.reject(abandoned());
    });
    this.queue.push(waiting);
  }

  /** Takes a request out of the queue; false when it already left (started, timed out or dropped). */
  private leave(waiting: Waiting): boolean {
    const at = this.queue.indexOf(waiting);
    if (at < 0) return false;
    this.queue.splice(at, 1);
    this.settle(waiting);
    return true;
  }

  private settle(waiting: Waiting): void {
    clearTimeout(waiting.timer);
    waiting.unsubscribe?.();
  }

  private start(instance: Instance, waiting: Waiting): void {
    this.busy++;
    const deadline = waiting.call?.deadline;
    let answered = false;
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(() => {
            answered = true;
            this.counts.deadlineExceeded++;
            waiting.reject(deadlineExceeded(this.label));
          }, Math.max(0, deadline - Date.now()));
    instance.run(waiting.inputs, waiting.outputNames).then(
      (outputs) => {
        if (!answered) waiting.resolve(outputs);
      },
      (err: Error) => {
        if (!answered) waiting.reject(err);
      },
    ).finally(() => {
      clearTimeout(timer);
      this.busy--;
      this.counts.runs++;
      this.meanRunMs = this.meanRunMs === 0 ? instance.lastComputeUs / 1000 : 0.8 * this.meanRunMs + 0.2 * (instance.lastComputeUs / 1000);
      this.release(instance);
    });
  }

  private release(instance: Instance): void {
    const next = this.queue.shift();
    if (next) {
      this.settle(next);
      return this.start(instance, next);
    }
    this.idle.push(instance);
    if (this.drained && this.busy === 0) this.drained();
  }

  /** A refusal with the seconds until the queue ahead is likely served. */
  private shed(code: 'OVERLOADED' | 'QUEUE_TIMEOUT', message: string): PlinthError {
    const aheadMs = ((this.queue.length + this.busy) * this.meanRunMs) / this.instances.length;
    return new PlinthError(code, message, { 'retry-after': String(Math.max(1, Math.ceil(aheadMs / 1000))) });
  }

  /** Serves what is queued and running (a reload never drops a request), then stops every instance. */
  async dispose(): Promise<void> {
    if (this.busy > 0 || this.queue.length > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.instances.map((i) => i.dispose()));
  }
}
