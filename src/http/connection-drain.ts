import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Ends every connection of an HTTP server without a reset, for a shutdown under load:
 *
 * 1. The listener closes (new connections are refused) but, unlike http.Server.close(), the
 *    idle keep-alive connections are left open: a client may be writing its next request into
 *    one at that moment, and closing it under that request is the reset clients see.
 * 2. A response in flight that has not sent its headers gets `Connection: close`; a request that
 *    arrives on a kept connection gets it too (the Lifecycle's drain listener). Node closes each
 *    such connection once its response is out, so a busy client gets its answer, then a clean FIN.
 * 3. After `idleGraceMs`, connections still idle (no request for that long) are closed.
 *
 * Resolves when every connection has ended. Connections are tracked per socket ('connection'),
 * never per request, so serving pays nothing for this.
 */
export class ConnectionDrain {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get open(): number {
    return this.sockets.size;
  }

  async drain(idleGraceMs: number): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      // net.Server.prototype.close: stop accepting and wait for the connections, without the
      // immediate closeIdleConnections() that http.Server.prototype.close adds.
      if (this.server.listening) NetServer.prototype.close.call(this.server, () => resolve());
      else resolve();
    });
    for (const socket of this.sockets) {
      // The response the connection is serving now (Node keeps it on the socket while it is in flight).
      const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (response && !response.headersSent) response.setHeader('connection', 'close');
    }
    // Then, every idleGraceMs, what is idle is closed: at first the connections no request came
    // on, later those whose response (begun before the drain, so without the header) has ended.
    let done = false;
    void ended.then(() => (done = true));
    while (!done) {
      await Promise.race([ended, delay(idleGraceMs, undefined, { ref: false })]);
      this.server.closeIdleConnections();
    }
  }
}
