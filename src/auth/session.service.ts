import type { SessionRepository, SessionRow, UserRow } from '../storage/auth-ports.js';
import type { UserService } from './user.service.js';
import { matchesDigest, randomSecret, sha256Hex } from './secret-hash.js';
import { isoAfter } from './auth-options.js';

export interface OpenedSession {
  /** The cookie value: shown to the browser only, stored as its SHA-256. */
  id: string;
  /** Sent back by the console in X-CSRF-Token on state-changing requests. */
  csrfToken: string;
  expiresAt: Date;
}

/** Console sessions behind the session cookie, with a synchronizer CSRF token each. */
export class SessionService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly users: UserService,
    private readonly ttlSeconds: number,
    private readonly now: () => Date,
  ) {}

  async open(user: string): Promise<OpenedSession> {
    const now = this.now();
    // Pruning here keeps the table bounded without a scheduler.
    await this.sessions.deleteExpired(now.toISOString());
    const id = randomSecret();
    const csrfToken = randomSecret();
    const expiresAt = isoAfter(now, this.ttlSeconds);
    await this.sessions.create({ idHash: sha256Hex(id), user, csrfHash: sha256Hex(csrfToken), createdAt: now.toISOString(), expiresAt });
    return { id, csrfToken, expiresAt: new Date(expiresAt) };
  }

  /** The live session of that cookie value and its user; undefined when unknown, expired or the user is gone. */
  async resolve(id: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    const session = await this.sessions.get(sha256Hex(id));
    if (!session || session.expiresAt <= this.now().toISOString()) return undefined;
    const user = await this.users.get(session.user);
    return user && { session, user };
  }

  csrfMatches(session: SessionRow, token: string | undefined): boolean {
    return token !== undefined && matchesDigest(token, session.csrfHash);
  }

  async close(id: string): Promise<void> {
    await this.sessions.delete(sha256Hex(id));
  }
}
