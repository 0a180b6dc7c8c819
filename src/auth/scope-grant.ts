import { invalidInput } from '../core/errors.js';
import { hasScope } from './authorization.policy.js';
import { insufficientScope } from './auth-errors.js';
import type { Principal } from './principal.js';
import type { Scope } from './scopes.js';

/**
 * The scopes a new client or API key may be given: only ones its creator holds, so no credential
 * can mint a stronger one. Duplicates are dropped; the order is kept.
 */
export function grantableScopes(creator: Principal, requested: readonly Scope[]): Scope[] {
  if (requested.length === 0) throw invalidInput('scopes must name at least one scope');
  for (const scope of requested) if (!hasScope(creator, scope)) throw insufficientScope(scope);
  return [...new Set(requested)];
}
