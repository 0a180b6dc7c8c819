import type { FastifyRequest } from 'fastify';
import { modelNotFound, PlinthError, printable } from '../core/errors.js';
import { isValidModelName } from '../core/model-name.js';
import { parseModelReference } from '../core/model-uri.js';
import { assertAllowed, isMissingCredentials, missingCredentials } from './auth-errors.js';
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
  /** Whether the default space serves a model of that name (loaded, loading or failed): a synchronous lookup. */
  isModel(name: string): boolean;
  /** Models the operator marked public (PLINTH_PUBLIC_MODELS; '*' = every model; asked only of served ones). */
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
   * default) space. Outsiders get the same 404 as a name that is not served, and a name served
   * nowhere is refused here too, as one of a space the caller has no role in: left to body
   * validation, its 400 would tell it apart from another space's name. `name` undefined: the
   * body names nothing (Pega's modelIdentifier missing), so validation refuses it.
   */
  serving(request: FastifyRequest, name: string | undefined, mode: 'auto' | 'token' | 'public-only' = 'auto'): Promise<unknown> | undefined {
    if (name === undefined) return mode === 'public-only' ? undefined : this.require(request, 'predict');
    const deployment = this.directory.deployment(name);
    const model = modelOf(name);
    // A name no model or deployment could have goes on to validation, which says what is wrong
    // with it: it exists nowhere, so that answer tells nothing.
    const served = deployment !== undefined || this.directory.isModel(model) || !isValidModelName(model);
    const open = served && (deployment ? deployment.public : this.directory.isPublicModel(model));
    if (mode === 'public-only' && !open) throw missingCredentials(`'${printable(name)}' is not public: call /auth/predict with a token`);
    if (open && mode !== 'token') return undefined;
    const spaceId = deployment?.spaceId ?? this.directory.defaultSpaceId;
    const checked = served ? this.requireIn(request, 'predict', { spaceId, notFound: () => modelNotFound(model) }) : this.inNoSpace(request, model);
    if (mode !== 'auto') return checked;
    // No credential at all: one answer whether the name is private or exists nowhere, saying both.
    return checked.catch((err: unknown) => {
      throw isMissingCredentials(err) ? missingCredentials(`'${printable(name)}' is not a public model or deployment here, or does not exist`) : err;
    });
  }

  /** As requireIn for a space the caller has no role in: 401, 403 for the scope, or the 404. */
  private async inNoSpace(request: FastifyRequest, model: string): Promise<void> {
    assertAllowed(authorize(await this.principal(request), 'predict', null), () => modelNotFound(model));
  }
}
