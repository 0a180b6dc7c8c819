/**
 * The bare reference: the least a Fastify server can do to answer a record with a prediction
 * (parse JSON, build the tensor, session.run, reply). No validation, protocol layer, hooks or
 * logging, so Plinth's throughput divided by this one's is what Plinth's layers cost.
 *
 * Usage: node --import tsx bench/reference-server.ts PORT
 */
import Fastify from 'fastify';
import { openSession, toInput, type DataRecord } from './breast-cancer.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) throw new Error('usage: reference-server.ts PORT');

const session = await openSession();
const app = Fastify({ logger: false });

app.post('/predict', async (req) => {
  const results = await session.run({ input: toInput(req.body as DataRecord) });
  return { prediction: [Number(results.label!.data[0])] };
});

await app.listen({ host: '127.0.0.1', port });
