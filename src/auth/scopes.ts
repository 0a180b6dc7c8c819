/** Every scope a credential can carry. `admin` implies all the others. */
export const SCOPES = ['predict', 'models:read', 'models:write', 'deployments:write', 'jobs:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/** What a signed-in user who is not an administrator holds; space roles narrow it per space. */
export const USER_SCOPES: readonly Scope[] = SCOPES.filter((s) => s !== 'admin');

/** RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\'. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * The `scope` parameter (space-delimited, RFC 6749 §3.3) as a list without duplicates, in the
 * order given; undefined when it is not well-formed (empty tokens, other separators).
 */
export function parseScopeParam(value: string): string[] | undefined {
  const tokens = value.split(' ');
  if (tokens.some((t) => !SCOPE_TOKEN.test(t))) return undefined;
  return [...new Set(tokens)];
}
