import type { FastifyReply, FastifyRequest } from 'fastify';

/** Remainders up to this size are read and dropped; larger ones get the connection closed. */
const DRAIN_MAX_BYTES = 8 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 5000;

/**
 * After an upload is refused before its body was read to the end. The client is still sending:
 * if the connection simply closed, it would see a broken pipe (EPIPE) instead of the refusal. A
 * small remainder is therefore read and dropped, and the answer goes out on a connection that
 * stays usable; a large one (or one that does not arrive in time) gets `connection: close`, as
 * reading it would spend the bandwidth the refusal saves.
 */
export async function settleRefusedUpload(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const raw = request.raw;
  if (raw.complete || raw.readableEnded) return;
  const declared = Number(raw.headers['content-length']);
  const drained =
    declared <= DRAIN_MAX_BYTES &&
    (await new Promise<boolean>((resolve) => {
      let seen = 0;
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        raw.off('data', onData).off('end', onEnd).off('error', onError);
        resolve(ok);
      };
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > DRAIN_MAX_BYTES) finish(false);
      };
      const onEnd = () => finish(true);
      const onError = () => finish(false);
      const timer = setTimeout(() => finish(false), DRAIN_TIMEOUT_MS);
      raw.on('data', onData).once('end', onEnd).once('error', onError);
      // The multipart parser that stopped reading may still be piped, holding the stream back.
      raw.unpipe();
      raw.resume();
    }));
  if (!drained) reply.header('connection', 'close');
}
