/**
 * Baseline (a): the HTTP ceiling on this machine. A bare Bun.serve that answers 202 to anything,
 * with no parsing, validation or broker. Port from argv[2] (default 3901).
 */
const port = Number(process.argv[2] ?? 3901);
const body = JSON.stringify({ status: 'accepted' });
const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch: () => new Response(body, { status: 202, headers: { 'content-type': 'application/json' } }),
});
console.log(JSON.stringify({ listening: server.url.href }));
process.on('SIGTERM', () => {
  server.stop(true);
  process.exit(0);
});
