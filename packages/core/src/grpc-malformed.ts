import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { clip } from './limits.ts';

/** What a request that could not be parsed becomes (instead of grpc-js's INTERNAL). */
const MALFORMED = Symbol('malformed request');

interface Malformed {
  [MALFORMED]: string;
}

type AnyHandler = (
  call: { request: unknown; emit?: (e: string, v: unknown) => boolean },
  cb?: unknown,
) => void;

/**
 * A service whose unparsable requests (truncated bodies, wrong wire types) are answered with
 * INVALID_ARGUMENT "request: cannot be parsed ..." instead of grpc-js's INTERNAL: the request
 * deserializer catches the parse error and the handler is never called. Unary and server-streaming
 * methods (the only kinds distrain has).
 */
export function guardMalformedRequests(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const def: Record<string, unknown> = {};
  const impl: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const deserialize = method.requestDeserialize;
    def[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return { [MALFORMED]: clip(err instanceof Error ? err.message : String(err)) } satisfies Malformed;
        }
      },
    };
    const handler = implementation[name] as AnyHandler | undefined;
    if (handler === undefined) continue;
    impl[name] = (call: Parameters<AnyHandler>[0], callback?: unknown): void => {
      const req = call.request as Partial<Malformed> | null;
      if (req !== null && typeof req === 'object' && MALFORMED in req) {
        const st = {
          code: GrpcStatus.INVALID_ARGUMENT,
          details: `request: cannot be parsed as ${name}'s request message (${req[MALFORMED]}); send a valid protobuf message`,
        };
        if (typeof callback === 'function') (callback as (e: unknown) => void)(st);
        else call.emit?.('error', Object.assign(new Error(st.details), st));
        return;
      }
      handler(call, callback);
    };
  }
  return {
    definition: def as ServiceDefinition,
    implementation: { ...implementation, ...impl } as UntypedServiceImplementation,
  };
}
