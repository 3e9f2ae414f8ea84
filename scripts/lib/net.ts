/** A TCP port that was free a moment ago (for private stacks and the processes tests start). */
export function freePort(): number {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const { port } = s;
  s.stop(true);
  return port;
}
