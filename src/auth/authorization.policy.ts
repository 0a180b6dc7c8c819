import type { SpaceRole } from '../storage/ports.js';
import type { Principal } from './principal.js';
import type { Scope } from './scopes.js';

/** What each space role may do inside its space; a credential also needs the scope itself. */
const ROLE_SCOPES: Record<SpaceRole, readonly Scope[]> = {
  viewer: ['predict', 'models:read'],
  editor: ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write'],
  admin: ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write', 'admin'],
};

export type Decision =
  | { allow: true }
  /** 403 with `error="insufficient_scope"`: the credential or the role does not reach that far. */
  | { allow: false; status: 403; error: 'insufficient_scope'; scope: Scope }
  /** 404, identical to "does not exist": the caller has no role in the space, so must not learn it exists. */
  | { allow: false; status: 404 };

export const hasScope = (principal: Principal, scope: Scope): boolean => principal.scopes.includes(scope) || principal.scopes.includes('admin');

/** The principal's role in a space, or null when it has none there (for authorize's third argument). */
export const roleIn = (principal: Principal, spaceId: string): SpaceRole | null => principal.spaceRoles[spaceId] ?? null;

/**
 * Whether the principal may act with `required`. `spaceRole` is for actions inside a space:
 * pass roleIn(principal, spaceId); leave it out for server-wide actions. An `admin`-scoped
 * principal is not limited by space roles.
 */
export function authorize(principal: Principal, required: Scope, spaceRole?: SpaceRole | null): Decision {
  const refuse = { allow: false, status: 403, error: 'insufficient_scope', scope: required } as const;
  if (!hasScope(principal, required)) return refuse;
  if (spaceRole === undefined || principal.scopes.includes('admin')) return { allow: true };
  if (spaceRole === null) return { allow: false, status: 404 };
  return ROLE_SCOPES[spaceRole].includes(required) ? { allow: true } : refuse;
}
