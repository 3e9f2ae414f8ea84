/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with
 * (z.toJSONSchema), and a docs page (Swagger UI served from node_modules: the machines are
 * offline, so no CDN).
 */
import { dirname, join } from 'node:path';
import { Elysia } from 'elysia';
import { z } from 'zod';
import { AppError } from '../kernel/errors.ts';
import { BatchBody, BatchItem, CompleteSessionBody, IdempotencyKey } from '../sessions/model.ts';
import { SafeId } from '../kernel/events/session-completed.ts';

type PathItem = Record<string, unknown>;

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const problem = {
  description: 'Problem details (RFC 9457)',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail', 'code'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          code: { type: 'string' },
          instance: { type: 'string' },
          requestId: { type: 'string' },
          issues: {
            type: 'array',
            items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
};

const writeErrors = {
  '400': { ...problem, description: 'Malformed JSON' },
  '413': { ...problem, description: 'Body over the limit' },
  '415': { ...problem, description: 'Content-Type is not application/json' },
  '422': { ...problem, description: 'Validation failed: `issues` lists every field path and why' },
  '503': { ...problem, description: 'Overloaded, broker unavailable or too slow, or draining: retry after Retry-After seconds' },
};

const writePaths: Record<string, PathItem> = {
  '/sessions/{sessionId}/complete': {
    post: {
      summary: 'Complete a session: appends SessionCompleted to Kafka, answers 202 once the broker has it (acks=all)',
      parameters: [
        { name: 'sessionId', in: 'path', required: true, schema: schema(SafeId) },
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Retries with the same key (for the same session) yield the same eventId.',
          schema: schema(IdempotencyKey),
        },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: schema(CompleteSessionBody) } } },
      responses: {
        '202': {
          description: 'Durably accepted',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { eventId: { type: 'string', format: 'uuid' }, sessionId: { type: 'string' }, status: { const: 'accepted' } },
              },
            },
          },
        },
        ...writeErrors,
      },
    },
  },
  '/sessions/complete': {
    post: {
      summary: 'Complete up to 500 sessions; one result per item (202 all accepted, 207 otherwise)',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { ...schema(BatchBody), properties: { items: { type: 'array', maxItems: 500, items: schema(BatchItem) } } },
          },
        },
      },
      responses: {
        '202': { description: 'Every item accepted' },
        '207': { description: 'Some items rejected (issues) or failed (retry them)' },
        ...writeErrors,
      },
    },
  },
  '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
  '/readyz': {
    get: { summary: 'Readiness (producer connected, not draining)', responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } } },
  },
  '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain exposition' } } } },
};

export function openApiDocument(extraPaths: Record<string, PathItem> = {}) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Session pipeline API',
      version: '1.0.0',
      description: 'Write path for SessionCompleted events, read model and analytics endpoints.',
    },
    paths: { ...writePaths, ...extraPaths },
  };
}

const swaggerDir = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir));
const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Session pipeline API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script>
</body></html>`;
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);

export function docsRoutes(extraPaths: Record<string, PathItem> = {}) {
  const doc = JSON.stringify(openApiDocument(extraPaths));
  return new Elysia({ name: 'docs' })
    .get('/openapi.json', () => new Response(doc, { headers: { 'content-type': 'application/json' } }))
    .get('/docs', () => new Response(DOCS_HTML, { headers: { 'content-type': 'text/html; charset=utf-8' } }))
    .get('/docs/assets/:file', ({ params }) => {
      if (!ASSETS.has(params.file)) throw new AppError('NOT_FOUND', `No docs asset ${params.file}.`);
      return new Response(Bun.file(join(swaggerDir, params.file)));
    });
}
