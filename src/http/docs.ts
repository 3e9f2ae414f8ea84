/**
 * The API's own description: /openapi.json (generated, see openapi.ts) and a docs page (Swagger
 * UI served from node_modules: the machines are offline, so no CDN; its start-up script is a
 * file too, so the page's CSP allows no inline script).
 */
import { dirname, join } from 'node:path';
import { Elysia } from 'elysia';
import { z } from 'zod';
import { AppError } from '../kernel/errors.ts';
import { routeContract } from './contract.ts';
import { ASSET_SECURITY_HEADERS, PAGE_SECURITY_HEADERS } from './security-headers.ts';

const swaggerDir = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir));
const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Session pipeline API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body></html>`;
const DOCS_JS = "window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });\n";

const ASSETS: Readonly<Record<string, () => Blob | string>> = {
  'swagger-ui.css': () => Bun.file(join(swaggerDir, 'swagger-ui.css')),
  'swagger-ui-bundle.js': () => Bun.file(join(swaggerDir, 'swagger-ui-bundle.js')),
  'docs.js': () => DOCS_JS,
};
const TYPES: Readonly<Record<string, string>> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
export const DOCS_ASSETS = Object.keys(ASSETS) as [string, ...string[]];

/** `document` is called once, on the first request, when every route is registered. */
export function docsRoutes(document: () => string) {
  let doc: string | undefined;
  return new Elysia({ name: 'docs' })
    .use(routeContract)
    .get('/openapi.json', () => new Response((doc ??= document()), { headers: { 'content-type': 'application/json' } }), {
      auth: 'open',
      contract: {
        summary: 'This document (OpenAPI 3.1)',
        tags: ['docs'],
        responses: { 200: { description: 'The OpenAPI document', schema: z.looseObject({ openapi: z.string() }) } },
      },
    })
    .get('/docs', () => new Response(DOCS_HTML, { headers: { 'content-type': 'text/html; charset=utf-8', ...PAGE_SECURITY_HEADERS } }), {
      auth: 'open',
      contract: { summary: 'API docs page (Swagger UI)', tags: ['docs'], responses: { 200: { description: 'HTML page', contentTypes: ['text/html'] } } },
    })
    .get(
      '/docs/assets/:file',
      ({ params }) => {
        const asset = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined;
        if (asset === undefined) throw new AppError('NOT_FOUND', `No docs asset ${JSON.stringify(params.file)}.`);
        const type = TYPES[params.file.slice(params.file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
        return new Response(asset(), { headers: { 'content-type': type, 'cache-control': 'public, max-age=3600', ...ASSET_SECURITY_HEADERS } });
      },
      {
        auth: 'open',
        contract: {
          summary: 'Scripts and styles of the docs page',
          tags: ['docs'],
          params: z.object({ file: z.enum(DOCS_ASSETS) }),
          responses: { 200: { description: 'The file', contentTypes: ['text/javascript', 'text/css'] } },
          problems: { 404: 'No such asset' },
        },
      },
    );
}
