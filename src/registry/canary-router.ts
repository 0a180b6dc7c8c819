import { PlinthError, printable } from '../core/errors.js';

export type TrafficSide = 'primary' | 'canary';

/** The versions a deployment serves now, as its loader resolved them. */
export interface TrafficSplit {
  primary: { version: number };
  /** `percent` (1..99) of the requests go to this version. */
  canary?: { version: number; percent: number };
}

export interface TrafficPick {
  side: TrafficSide;
  version: number;
}

export interface TrafficStats {
  /** Picks since the split was last configured. */
  total: number;
  primary: { version: number; count: number };
  canary?: { version: number; percent: number; count: number };
  /** Picks per version number (primary and canary summed when both name the same version). */
  byVersion: Record<string, number>;
}

export interface CanaryRouterOptions {
  /**
   * Where each deployment's request counter starts (default 0). Any start gives exactly
   * `percent` canary picks in every 100 consecutive picks; the start only shifts which ones.
   */
  seed?: (deploymentId: string) => number;
}

interface RouteState {
  split: TrafficSplit;
  counter: number;
  primary: number;
  canary: number;
}

/**
 * Splits a deployment's requests between its primary and canary version without randomness:
 * a counter-based weighted round-robin. Request n (counting from the seed) goes to the canary
 * when floor((n + 1) * p / 100) > floor(n * p / 100), so any 100 consecutive requests send
 * exactly p to the canary, spread evenly rather than in a burst. In memory, per process.
 */
export class CanaryRouter {
  private readonly routes = new Map<string, RouteState>();

  constructor(private readonly options: CanaryRouterOptions = {}) {}

  /** Sets (or replaces) the deployment's split; its counters start again. */
  configure(deploymentId: string, split: TrafficSplit): void {
    const percent = split.canary?.percent;
    if (percent !== undefined && (!Number.isInteger(percent) || percent < 1 || percent > 99)) {
      throw new PlinthError('INVALID_INPUT', `canary.percent must be a whole number from 1 to 99, got ${printable(String(percent), 20)}`);
    }
    const seed = this.options.seed?.(deploymentId) ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`the canary router seed must be a whole number >= 0, got ${seed}`);
    this.routes.set(deploymentId, {
      split: { primary: { ...split.primary }, ...(split.canary && { canary: { ...split.canary } }) },
      counter: seed,
      primary: 0,
      canary: 0,
    });
  }

  has(deploymentId: string): boolean {
    return this.routes.has(deploymentId);
  }

  forget(deploymentId: string): void {
    this.routes.delete(deploymentId);
  }

  /** Which side serves the deployment's next request; counts it. MODEL_UNAVAILABLE when not configured. */
  pick(deploymentId: string): TrafficPick {
    const route = this.route(deploymentId);
    const n = route.counter++;
    const canary = route.split.canary;
    if (canary && Math.floor(((n + 1) * canary.percent) / 100) > Math.floor((n * canary.percent) / 100)) {
      route.canary++;
      return { side: 'canary', version: canary.version };
    }
    route.primary++;
    return { side: 'primary', version: route.split.primary.version };
  }

  stats(deploymentId: string): TrafficStats {
    const route = this.route(deploymentId);
    const { primary, canary } = route.split;
    const byVersion: Record<string, number> = { [String(primary.version)]: route.primary };
    if (canary) byVersion[String(canary.version)] = (byVersion[String(canary.version)] ?? 0) + route.canary;
    return {
      total: route.primary + route.canary,
      primary: { version: primary.version, count: route.primary },
      ...(canary && { canary: { version: canary.version, percent: canary.percent, count: route.canary } }),
      byVersion,
    };
  }

  private route(deploymentId: string): RouteState {
    const route = this.routes.get(deploymentId);
    if (!route) throw new PlinthError('MODEL_UNAVAILABLE', `deployment '${printable(deploymentId)}' is not ready to serve requests`);
    return route;
  }
}
