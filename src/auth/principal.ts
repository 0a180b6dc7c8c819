import type { SpaceRole } from '../storage/ports.js';
import type { Scope } from './scopes.js';

/** How the caller proved who it is. */
export type PrincipalKind = 'session' | 'api_key' | 'access_token';

/** The authenticated caller, as authenticate() produces it and authorize() judges it. */
export interface Principal {
  /** The user for a session or API key; the client id for a client-credentials token. */
  subject: string;
  kind: PrincipalKind;
  /** The user the credential acts for: the session's user, the key's owner, the client's owner. */
  user: string;
  scopes: Scope[];
  /**
   * Space id -> role, read from space_members on every request (a removed member loses access at
   * once). An API key, and a token exchanged for one, only ever see the key's space.
   */
  spaceRoles: Record<string, SpaceRole>;
  /** The OAuth2 client, for a client-credentials token. */
  clientId?: string;
  /** The API key used directly or exchanged for the token. */
  apiKeyId?: string;
}
