/**
 * The scoring worker's entry: lowers the thread's priority (Linux nice value, PLINTH_JOB_NICE)
 * before anything else, so that even loading the scoring code yields the CPU to online requests,
 * then loads the scoring thread itself (./scoring-thread.ts).
 */
import { setPriority } from 'node:os';
import { workerData } from 'node:worker_threads';

try {
  setPriority(0, (workerData as { niceness: number }).niceness);
} catch {
  // Not permitted or not supported: scoring runs at normal priority.
}
await import('./scoring-thread.js');
