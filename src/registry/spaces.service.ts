import { invalidInput, PlinthError, printable } from '../core/errors.js';
import type { Page, SpaceMemberRow, SpaceRepository, SpaceRole, SpaceRow } from '../storage/ports.js';
import type { ListQuery } from './registry.types.js';
import { DEFAULT_LIST_LIMIT } from './pages.js';
import { assertSpaceName, checkDescription, DEFAULT_SPACE } from './registry-names.js';
import { fromStorage } from './storage-error.mapper.js';

const SPACE_ROLES: readonly SpaceRole[] = ['admin', 'editor', 'viewer'];
const MEMBER_NAME_MAX = 200;

/** A member's user name: what the auth domain calls a user (1-200 characters, no control characters). */
function checkMemberName(user: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof user !== 'string' || user.length === 0 || user.length > MEMBER_NAME_MAX || /[\u0000-\u001f\u007f]/.test(user)) {
    throw invalidInput(`user name '${printable(String(user), 40)}' is invalid: use 1-${MEMBER_NAME_MAX} characters without control characters`);
  }
  return user;
}

function checkRole(role: unknown): SpaceRole {
  if (!SPACE_ROLES.includes(role as SpaceRole)) {
    throw invalidInput(`role '${printable(String(role), 40)}' is invalid: use one of ${SPACE_ROLES.join(', ')}`);
  }
  return role as SpaceRole;
}

/** Spaces and their members: the part of the registry ModelRegistryService delegates to. */
export class SpacesService {
  constructor(private readonly spaces: SpaceRepository) {}

  /** The `default` space, created if missing (safe when several start-ups race). */
  ensureDefault(): Promise<SpaceRow> {
    return this.spaces.ensure({ name: DEFAULT_SPACE, description: 'The default deployment space' });
  }

  async create(input: { name: string; description?: string | null }): Promise<SpaceRow> {
    assertSpaceName(input.name);
    const description = checkDescription(input.description);
    return fromStorage({ space: input.name }, () => this.spaces.create({ name: input.name, description }));
  }

  list(query: ListQuery & { namePrefix?: string; member?: string } = {}): Promise<Page<SpaceRow>> {
    return this.spaces.list({ ...query, limit: query.limit ?? DEFAULT_LIST_LIMIT });
  }

  async get(name: string = DEFAULT_SPACE): Promise<SpaceRow> {
    assertSpaceName(name);
    const space = await this.spaces.getByName(name);
    if (!space) throw new PlinthError('NOT_FOUND', `space '${printable(name)}' does not exist`);
    return space;
  }

  /** The space's members, ordered by user name. */
  async listMembers(spaceName: string): Promise<SpaceMemberRow[]> {
    const space = await this.get(spaceName);
    return this.spaces.listMembers(space.id);
  }

  /** Adds the user to the space with `role`, or changes their role. */
  async setMember(spaceName: string, user: string, role: SpaceRole): Promise<SpaceMemberRow> {
    checkMemberName(user);
    checkRole(role);
    const space = await this.get(spaceName);
    return fromStorage({ space: spaceName }, () => this.spaces.setMember(space.id, user, role));
  }

  /** Removes the user from the space; NOT_FOUND when they are not a member. */
  async removeMember(spaceName: string, user: string): Promise<void> {
    checkMemberName(user);
    const space = await this.get(spaceName);
    if (!(await this.spaces.removeMember(space.id, user))) {
      throw new PlinthError('NOT_FOUND', `user '${printable(user)}' is not a member of space '${printable(space.name)}'`);
    }
  }
}
