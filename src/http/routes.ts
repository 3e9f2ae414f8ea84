/**
 * The app's declared routes as a lookup, with Elysia's precedence: a path that names a static
 * route belongs to that route for every method (GET /sessions/complete is the batch route's
 * 405, not a read of a session called "complete"); otherwise the first parametric route of the
 * method whose pattern matches. A trailing slash is ignored, as Elysia ignores it.
 *
 * Used before the body is read (the key check, 405s) and for the Allow header. The route Elysia
 * finally runs is checked again against its own declaration (see src/http/app.ts), so a
 * difference between this lookup and Elysia's router can refuse a request but never open one.
 */
import type { DeclaredRoute } from './contract.ts';

export type Resolution =
  | { readonly kind: 'route'; readonly route: DeclaredRoute }
  | { readonly kind: 'method-not-allowed'; readonly allow: string }
  | { readonly kind: 'none' };

export interface RouteIndex {
  resolve(method: string, path: string): Resolution;
  /** The methods a path answers to (for the Allow header of a 405), empty when none. */
  allowedMethods(path: string): string[];
  /** The declaration of the route Elysia resolved (its pattern), for the given method. */
  byPattern(method: string, pattern: string): DeclaredRoute | undefined;
}

const NONE: Resolution = { kind: 'none' };
const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
const patternOf = (path: string): RegExp =>
  new RegExp(`^${escape(path).replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}$`);
const isDynamic = (path: string) => path.includes(':') || path.includes('*');
/** HEAD is answered by the GET route. */
const routingMethod = (method: string) => (method === 'HEAD' ? 'GET' : method);
const normalise = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);

export function createRouteIndex(routes: readonly DeclaredRoute[]): RouteIndex {
  const staticPaths = new Map<string, Map<string, DeclaredRoute>>();
  const dynamic: Array<{ route: DeclaredRoute; pattern: RegExp }> = [];
  const byMethod = new Map<string, Map<string, DeclaredRoute>>();
  for (const route of routes) {
    const patterns = byMethod.get(route.method) ?? new Map<string, DeclaredRoute>();
    patterns.set(route.path, route);
    byMethod.set(route.method, patterns);
    if (isDynamic(route.path)) {
      dynamic.push({ route, pattern: patternOf(route.path) });
    } else {
      const methods = staticPaths.get(route.path) ?? new Map<string, DeclaredRoute>();
      methods.set(route.method, route);
      staticPaths.set(route.path, methods);
    }
  }
  const allowOf = (methods: Iterable<string>): string => {
    const set = new Set(methods);
    if (set.has('GET')) set.add('HEAD');
    return [...set].join(', ');
  };

  return {
    resolve(method, rawPath) {
      const path = normalise(rawPath);
      const m = routingMethod(method);
      const statics = staticPaths.get(path);
      if (statics !== undefined) {
        const route = statics.get(m);
        return route === undefined ? { kind: 'method-not-allowed', allow: allowOf(statics.keys()) } : { kind: 'route', route };
      }
      for (const d of dynamic) if (d.route.method === m && d.pattern.test(path)) return { kind: 'route', route: d.route };
      return NONE;
    },
    allowedMethods(rawPath) {
      const path = normalise(rawPath);
      const statics = staticPaths.get(path);
      if (statics !== undefined) return allowOf(statics.keys()).split(', ');
      const methods = dynamic.filter((d) => d.pattern.test(path)).map((d) => d.route.method);
      return methods.length === 0 ? [] : allowOf(methods).split(', ');
    },
    byPattern(method, pattern) {
      return byMethod.get(routingMethod(method))?.get(pattern);
    },
  };
}
