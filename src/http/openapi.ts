/**
 * The OpenAPI 3.1 document, generated from the routes the app serves: each route's `auth` and
 * `contract` (src/http/contract.ts), whose zod schemas become JSON Schema through
 * z.toJSONSchema. No path is written by hand here, so a route cannot be served undocumented.
 * The edge adds what it answers for every route: 400 (an unusable Host header), 401/403/429 for
 * routes that need a key, 503 while draining.
 */
import { z } from 'zod';
import type { DeclaredRoute, ResponseSpec, RouteContract } from './contract.ts';
import { MAX_ISSUES_PER_RESPONSE, PROBLEM_CONTENT_TYPE, ProblemSchema } from './problem.ts';

type Json = Record<string, unknown>;

/** JSON Schema of what a client sends (io: input: defaults are optional, transforms ignored). */
export const jsonSchemaOf = (s: z.ZodType): Json => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
};
/** JSON Schema of what the server sends. */
const outputSchemaOf = (s: z.ZodType): Json => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' }) as Json;
  return rest;
};

const retryAfter = { description: 'Seconds to wait before retrying', schema: { type: 'string', pattern: '^[0-9]+$' } };

const problem = (description: string, headers: Json = {}): Json => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
  ...(Object.keys(headers).length > 0 ? { headers } : {}),
});

const PROBLEM_TEXT: Record<number, string> = {
  404: 'Not found',
  413: 'Body over the limit',
  415: 'Content-Type is not application/json',
  422: `Validation failed: \`issues\` lists each failing field path and why (at most ${MAX_ISSUES_PER_RESPONSE}; \`issuesOmitted\` counts the rest)`,
  503: 'Unavailable: retry after Retry-After seconds',
};

function parametersOf(c: RouteContract): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query' | 'header', object: z.ZodObject | undefined) => {
    if (object === undefined) return;
    const schema = jsonSchemaOf(object);
    const required = new Set((schema['required'] as string[] | undefined) ?? []);
    const properties = (schema['properties'] ?? {}) as Record<string, Json>;
    for (const [name, s] of Object.entries(properties)) {
      const { description, ...rest } = s;
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  };
  add('path', c.params);
  add('query', c.query);
  add('header', c.headers);
  return out;
}

function successOf(spec: ResponseSpec): Json {
  const types = spec.contentTypes ?? ['application/json'];
  return {
    description: spec.description,
    content: Object.fromEntries(types.map((t) => [t, spec.schema === undefined ? {} : { schema: outputSchemaOf(spec.schema) }])),
    ...(spec.headers === undefined ? {} : { headers: spec.headers }),
  };
}

function operationOf(route: DeclaredRoute): Json {
  const c = route.contract;
  const responses: Record<string, Json> = {};
  for (const [status, spec] of Object.entries(c.responses)) responses[status] = successOf(spec);
  const badRequest = c.body === undefined ? 'The Host header is missing, not a host, or too short to route by' : 'Malformed JSON, an empty body, invalid UTF-8, or an unusable Host header';
  responses['400'] = problem(badRequest);
  if (route.auth !== 'open') {
    responses['401'] = problem('No API key, or not a valid one', { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' } } });
    responses['403'] = problem(`The API key lacks the \`${route.auth}\` scope`);
    responses['429'] = problem('Over the key\'s rate (one token per event: a batch costs one per item)', { 'Retry-After': retryAfter });
  }
  if (c.body !== undefined) {
    responses['413'] = problem(`${PROBLEM_TEXT[413]} (${c.body.maxBytes} bytes)`);
    responses['415'] = problem(PROBLEM_TEXT[415] ?? '');
  }
  for (const [status, text] of Object.entries(c.problems ?? {})) {
    const headers =
      status === '503'
        ? { 'Retry-After': retryAfter }
        : status === '405'
          ? { Allow: { description: 'The methods the path serves', schema: { type: 'string' } } }
          : {};
    responses[status] = problem(text ?? PROBLEM_TEXT[Number(status)] ?? '', headers);
  }
  if (c.drains !== false && responses['503'] === undefined) {
    responses['503'] = problem('The instance is shutting down: retry on another', { 'Retry-After': retryAfter });
  }
  const parameters = parametersOf(c);
  return {
    summary: c.summary,
    ...(c.description === undefined ? {} : { description: c.description }),
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[/:{}.-]+(\w)?/g, (_, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
    ...(c.tags === undefined ? {} : { tags: c.tags }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(c.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            ...(c.body.description === undefined ? {} : { description: c.body.description }),
            content: { 'application/json': { schema: jsonSchemaOf(c.body.schema) } },
          },
        }),
    responses,
    security: route.auth === 'open' ? [] : [{ apiKey: [route.auth] }],
    'x-scope': route.auth,
  };
}

/** `/users/:userId/stats` -> `/users/{userId}/stats`. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function openApiDocument(routes: readonly DeclaredRoute[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    if (route.method === 'HEAD') continue; // answered by GET
    const item = (paths[openApiPath(route.path)] ??= {});
    item[route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Session pipeline API',
      version: '1.0.0',
      description:
        'Write path for SessionCompleted events, the read model and analytics. Errors are application/problem+json ' +
        '(RFC 9457). A method a path does not serve gets 405 with `Allow`; an unknown path 404. Each operation names ' +
        'the API-key scope it needs (`x-scope`, and the role in `security`); keys are sent as `Authorization: Bearer <key>`.',
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key with the scope the operation names' } },
      schemas: { Problem: jsonSchemaOf(ProblemSchema) },
    },
    paths,
  };
}
