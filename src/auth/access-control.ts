import type { FastifyRequest } from 'fastify';
import { modelNotFound, PlinthError, printable } from '../core/errors.js';
import { parseModelReference } from '../core/model-uri.js';
import { assertAllowed, missingCredentials } from './auth-errors.js';
import type { AuthServices } from './auth-services.js';
import { authorize, roleIn } from './authorization.policy.js';
import type { Principal } from './principal.js';
import type { Scope } from './scopes.js';

/** A space and the error its resources answer when they do not exist (given to outsiders too). */
export interface SpaceTarget {
  spaceId: string;
  notFound: () => PlinthError;
}

/** What serving needs to know about a name to decide who may call it. */
export interface ServingTarget {
  spaceId: string;
  public: boolean;
}

/** Who serves a name: a deployment (its space and auth mode), or a default-space model. */
export interface ServingDirectory {
  deployment(nameOrId: string): ServingTarget | undefined;
  defaultSpaceId: string;
  /** Models the operator marked public (PLINTH_PUBLIC_MODELS; '*' = every model). */
  isPublicModel(name: string): boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, once an access rule has checked it. */
    principal?: Principal;
  }
}

/** The model name inside `iris`, `iris@production` or `models:/iris/3`; the name itself when it does not parse. */
function modelOf(name: string): string {
  if (!name.includes('@') && !name.startsWith('models:/')) return name;
  try {
    return parseModelReference(name).name;
  } catch {
    return name;
  }
}

/**
 * Authentication and authorization for every route but the security domain's own: the checks
 * the route policy (route-policy.ts) names, using the security services.
 */
export class AccessControl {
  constructor(
    private readonly auth: AuthServices,
    private readonly directory: ServingDirectory,
  ) {}

  private async principal(request: FastifyRequest): Promise<Principal> {
    request.principal ??= await this.auth.authenticator.authenticate(request);
    return request.principal;
  }

  /** A server-wide action: authenticated, with the scope. */
  async require(request: FastifyRequest, scope: Scope): Promise<Principal> {
    const principal = await this.principal(request);
    assertAllowed(authorize(principal, scope), () => new PlinthError('NOT_FOUND', 'not found'));
    return principal;
  }

  /** An action inside a space: the scope, and a role there that allows it (404 as "does not exist" without one). */
  async requireIn(request: FastifyRequest, scope: Scope, target: SpaceTarget): Promise<Principal> {
    const principal = await this.principal(request);
    assertAllowed(authorize(principal, scope, roleIn(principal, target.spaceId)), target.notFound);
    return principal;
  }

  /**
   * A prediction or metadata call on a served name: open when it is a public deployment or a model
   * the operator marked public; otherwise `predict` and a role in the deployment's (or the
   * default) space. Outsiders get the same 404 as a name that is not served.
   */
  serving(request: FastifyRequest, name: string, mode: 'auto' | 'token' | 'public-only' = 'auto'): Promise<unknown> | undefined {
    const deployment = this.directory.deployment(name);
    const model = modelOf(name);
    const open = deployment ? deployment.public : this.directory.isPublicModel(model);
    if (mode === 'public-only' && !open) throw missingCredentials(`'${printable(name)}' is not public: call /auth/predict with a token`);
    if (open && mode !== 'token') return undefined;
    const spaceId = deployment?.spaceId ?? this.directory.defaultSpaceId;
    return this.requireIn(request, 'predict', { spaceId, notFound: () => modelNotFound(model) });
  }
}
