/** kafkajs ships no types for its internals; the request-queue patch needs this one class. */
declare module 'kafkajs/src/network/requestQueue/index.js' {
  const RequestQueue: new (...args: never[]) => unknown;
  export default RequestQueue;
}

/** kafkajs's table of Kafka error codes: the type names and the messages it logs for them. */
declare module 'kafkajs/src/protocol/error.js' {
  export const errorCodes: ReadonlyArray<{ readonly type: string; readonly code: number; readonly retriable: boolean; readonly message: string }>;
}
