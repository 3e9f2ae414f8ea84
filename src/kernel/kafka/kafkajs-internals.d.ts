/** kafkajs ships no types for its internals; the request-queue patch needs this one class. */
declare module 'kafkajs/src/network/requestQueue/index.js' {
  const RequestQueue: new (...args: never[]) => unknown;
  export default RequestQueue;
}
