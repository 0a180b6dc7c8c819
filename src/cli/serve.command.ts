import { setTimeout as delay } from 'node:timers/promises';
import { buildApp } from '../app.js';
import { loadConfig, type Config } from '../config/config.js';
import { ConnectionDrain } from '../http/connection-drain.js';

/** How long a kept-alive connection may stay idle once draining before it is closed: a busy client sends its next request well within it. */
const DRAIN_IDLE_MS = 1000;

/**
 * Starts the server. SIGTERM / SIGINT: readiness turns 503 at once; after the drain delay the
 * listener closes, in-flight requests finish, and the process exits 0 (or 1 if they outlast the
 * grace period).
 */
export async function serve(overrides: Partial<Record<keyof Config, unknown>>): Promise<void> {
  const config = loadConfig(overrides);
  const { app, lifecycle, generatedAdminPassword } = await buildApp(config);
  const connections = new ConnectionDrain(app.server);
  await app.listen({ host: config.host, port: config.port });
  if (generatedAdminPassword) {
    // Once, on the terminal only (not the log): it is stored hashed and cannot be shown again.
    process.stderr.write(`\nFirst start: user 'admin' was created with the one-time password\n\n    ${generatedAdminPassword}\n\nSign in with POST /login, then create clients or API keys. Set PLINTH_ADMIN_PASSWORD to choose it instead.\n\n`);
  }
  const shutdown = (signal: string) => {
    if (lifecycle.isDraining) return;
    lifecycle.startDraining();
    app.log.info({ signal }, 'draining: readiness is now 503; finishing in-flight requests');
    const force = setTimeout(() => {
      app.log.error('in-flight requests outlasted the shutdown grace period; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    // With no drain delay the listener closes now, in this tick, so no new request slips in; the
    // connections end one by one after their last answer, then the app closes (its stores last).
    const draining = config.drainDelayMs > 0 ? delay(config.drainDelayMs).then(() => connections.drain(DRAIN_IDLE_MS)) : connections.drain(DRAIN_IDLE_MS);
    const closing = draining.then(() => app.close());
    closing.then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
