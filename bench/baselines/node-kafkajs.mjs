/**
 * Baseline (c): what many would write first. Node + Fastify + kafkajs, one `producer.send`
 * (acks=-1, i.e. all in-sync replicas) per request, answered 202 after the broker acknowledged.
 * Validation is a hand-written check of the same rules as the API (422 with the failing fields).
 * No group commit, no buffer bound, no idempotent producer: the plain first version.
 *
 *   node bench/baselines/node-kafkajs.mjs <port> <topic> <brokers comma-separated>
 *
 * Plain .mjs on purpose: it runs on /usr/bin/node (Node 20) with no build step.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { Kafka, logLevel } from 'kafkajs';

const port = Number(process.argv[2] ?? 3904);
const topic = process.argv[3];
const brokers = (process.argv[4] ?? '127.0.0.1:19092').split(',');
if (!topic) throw new Error('usage: node node-kafkajs.mjs <port> <topic> <brokers>');

const kafka = new Kafka({ clientId: 'bench-node-kafkajs', brokers, logLevel: logLevel.ERROR });
const producer = kafka.producer();
await producer.connect();

const SAFE = /^[A-Za-z0-9._:-]{1,128}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const OUTCOMES = new Set(['completed', 'failed', 'abandoned']);
const FIELDS = new Set(['userId', 'startedAt', 'completedAt', 'score', 'outcome', 'attributes']);

/** The API's rules, by hand: returns the failing fields (empty when valid). */
function check(body, extraFields = []) {
  const issues = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [{ path: '', message: 'must be an object' }];
  for (const k of Object.keys(body)) if (!FIELDS.has(k) && !extraFields.includes(k)) issues.push({ path: k, message: 'unknown field' });
  if (typeof body.userId !== 'string' || !SAFE.test(body.userId)) issues.push({ path: 'userId', message: 'invalid' });
  for (const f of ['startedAt', 'completedAt']) {
    if (typeof body[f] !== 'string' || !ISO.test(body[f]) || Number.isNaN(Date.parse(body[f]))) issues.push({ path: f, message: 'invalid' });
  }
  if (issues.length === 0 && Date.parse(body.completedAt) < Date.parse(body.startedAt)) issues.push({ path: 'completedAt', message: 'before startedAt' });
  if (body.score !== undefined && (typeof body.score !== 'number' || !Number.isFinite(body.score))) issues.push({ path: 'score', message: 'invalid' });
  if (body.outcome !== undefined && !OUTCOMES.has(body.outcome)) issues.push({ path: 'outcome', message: 'invalid' });
  if (body.attributes !== undefined && (typeof body.attributes !== 'object' || body.attributes === null || Object.keys(body.attributes).length > 32)) {
    issues.push({ path: 'attributes', message: 'invalid' });
  }
  return issues;
}

function message(sessionId, body) {
  const id = randomUUID();
  const event = {
    id,
    type: 'SessionCompleted',
    version: 1,
    occurredAt: body.completedAt,
    receivedAt: new Date().toISOString(),
    data: { sessionId, userId: body.userId, startedAt: body.startedAt, completedAt: body.completedAt, score: body.score, outcome: body.outcome ?? 'completed', attributes: body.attributes },
  };
  return { id, message: { key: body.userId, value: JSON.stringify(event) } };
}

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.get('/healthz', async () => ({ status: 'ok' }));

app.post('/sessions/:sessionId/complete', async (request, reply) => {
  const { sessionId } = request.params;
  const issues = check(request.body);
  if (!SAFE.test(sessionId)) issues.push({ path: 'sessionId', message: 'invalid' });
  if (issues.length > 0) return reply.code(422).type('application/problem+json').send({ status: 422, issues });
  const { id, message: m } = message(sessionId, request.body);
  try {
    await producer.send({ topic, acks: -1, messages: [m] });
  } catch (error) {
    return reply.code(503).send({ status: 503, detail: String(error) });
  }
  return reply.code(202).send({ eventId: id, sessionId, status: 'accepted' });
});

app.post('/sessions/complete', async (request, reply) => {
  const items = request.body?.items;
  if (!Array.isArray(items) || items.length < 1 || items.length > 500) return reply.code(422).send({ status: 422, detail: 'items: 1-500' });
  const results = await Promise.all(
    items.map(async (item, index) => {
      const issues = check(item, ['sessionId', 'idempotencyKey']);
      if (typeof item?.sessionId !== 'string' || !SAFE.test(item.sessionId)) issues.push({ path: 'sessionId', message: 'invalid' });
      if (issues.length > 0) return { index, status: 'rejected', issues };
      const { sessionId, idempotencyKey: _key, ...body } = item;
      const { id, message: m } = message(sessionId, body);
      try {
        await producer.send({ topic, acks: -1, messages: [m] });
        return { index, status: 'accepted', eventId: id, sessionId };
      } catch {
        return { index, status: 'failed' };
      }
    }),
  );
  const accepted = results.filter((r) => r.status === 'accepted').length;
  return reply.code(accepted === results.length ? 202 : 207).send({ accepted, results });
});

await app.listen({ host: '127.0.0.1', port });
console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}`, topic }));
process.on('SIGTERM', async () => {
  await app.close();
  await producer.disconnect();
  process.exit(0);
});
