/**
 * Headers for the HTML pages the API serves (/docs and /dashboard) and their assets. The pages
 * load nothing from outside (Swagger UI and uPlot are served from node_modules), so the policy
 * allows this origin only: no inline or foreign script, no framing (clickjacking), no referrer
 * (the dashboard's key travels in the URL fragment, which browsers never send, but a page's
 * query string would be), no MIME sniffing. Inline style attributes stay allowed: Swagger UI
 * sets them in its markup.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** For scripts and styles: the browser must take them as what their Content-Type says. */
export const ASSET_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
