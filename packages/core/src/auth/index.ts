/** Authentication (bearer tokens, job credentials, the server and client interceptors) and TLS. */
export * from './token.ts';
export * from './interceptors.ts';
export * from './security.ts';
