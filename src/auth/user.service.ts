import { invalidInput } from '../core/errors.js';
import type { UserRepository, UserRow } from '../storage/auth-ports.js';
import { hashPassword, verifyPassword } from './password-hasher.js';
import { randomSecret } from './secret-hash.js';

export const ADMIN_USER = 'admin';
export const MIN_PASSWORD_LENGTH = 12;

export interface EnsureAdminResult {
  /** True when this call created the admin (the first start). */
  created: boolean;
  /** The generated one-time password: print it once and forget it. Absent when none was generated. */
  generatedPassword?: string;
}

/** Local users with argon2id-hashed passwords. */
export class UserService {
  /** An argon2id hash of nothing anyone knows, verified against when the user does not exist. */
  private decoy: Promise<string> | undefined;

  constructor(private readonly users: UserRepository, private readonly now: () => Date) {}

  /** False when a user of that name already exists (it is left unchanged). */
  async create(name: string, password: string, admin = false): Promise<boolean> {
    if (password.length < MIN_PASSWORD_LENGTH) throw invalidInput(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
    const passwordHash = await hashPassword(password);
    return this.users.createIfAbsent({ name, passwordHash, isAdmin: admin, createdAt: this.now().toISOString() });
  }

  /**
   * On the first start, creates the `admin` user with `password` (PLINTH_ADMIN_PASSWORD) or, when
   * none is given, a random one returned once for the caller to print. An existing admin is left
   * alone, so changing the variable later does not reset a password.
   */
  async ensureAdmin(password?: string): Promise<EnsureAdminResult> {
    if (await this.users.get(ADMIN_USER)) return { created: false };
    const generated = password === undefined || password === '' ? randomSecret(18) : undefined;
    const created = await this.create(ADMIN_USER, generated ?? password!, true);
    // Another replica may have won the race; its password is the one that holds.
    return created && generated ? { created, generatedPassword: generated } : { created };
  }

  /**
   * The user when the password is right. An unknown name costs the same argon2 run as a wrong
   * password, so response times do not tell which names exist.
   */
  async verifyCredentials(name: string, password: string): Promise<UserRow | undefined> {
    const user = await this.users.get(name);
    if (!user) {
      this.decoy ??= hashPassword(randomSecret());
      await verifyPassword(await this.decoy, password);
      return undefined;
    }
    return (await verifyPassword(user.passwordHash, password)) ? user : undefined;
  }

  get(name: string): Promise<UserRow | undefined> {
    return this.users.get(name);
  }
}
