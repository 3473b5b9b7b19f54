import { InterceptingCall, ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { Interceptor, Metadata, ServerInterceptor } from '@grpc/grpc-js';
import { toGrpcStatus } from '../errors.ts';
import { AUTHORIZATION_KEY, bearerToken } from './token.ts';
import type { Authenticator } from './token.ts';

/**
 * What a method needs: `open` (health, reflection), `service` (the deployment token: users and
 * services), `job` (the credential of the job named by the request's `jobId`, or the deployment token).
 */
export type AccessLevel = 'open' | 'service' | 'job';

/**
 * Access per method: keys are a service (`distrain.v1.JobService`) or one method of it
 * (`distrain.v1.WorkerService/Heartbeat`); the method wins. Methods of no listed service need the
 * deployment token; health and reflection are always open.
 */
export type AccessRules = Readonly<Record<string, AccessLevel>>;

/** The level of a gRPC method path (`/pkg.Service/Method`) under `rules`. */
export function accessLevelOf(path: string, rules: AccessRules): AccessLevel {
  const [service = '', method = ''] = path.replace(/^\//, '').split('/');
  if (service === 'grpc.health.v1.Health' || service.startsWith('grpc.reflection.')) return 'open';
  return rules[`${service}/${method}`] ?? rules[service] ?? 'service';
}

/**
 * The server side: a grpc-js server interceptor that checks every call before its handler runs. A
 * `service` call is checked on its metadata; a `job` call on its first message (whose `jobId` names
 * the job). A rejected call ends with UNAUTHENTICATED or PERMISSION_DENIED and never reaches the
 * handler.
 */
export function authServerInterceptor(auth: Authenticator, rules: AccessRules): ServerInterceptor {
  return (method, call) => {
    const level = auth.enabled ? accessLevelOf(method.path, rules) : 'open';
    if (level === 'open') return new ServerInterceptingCall(call);
    let token: string | undefined;
    let rejected = false;
    const reject = (err: unknown): void => {
      rejected = true;
      const st = toGrpcStatus(err);
      call.sendStatus({ code: st.code, details: st.details });
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata: Metadata, mdNext) => {
            token = bearerToken(metadata);
            if (level === 'service') {
              try {
                auth.checkService(token);
              } catch (err) {
                reject(err);
                return;
              }
            }
            mdNext(metadata);
          },
          onReceiveMessage: (message: unknown, msgNext) => {
            if (rejected) return;
            if (level === 'job') {
              const jobId = (message as { jobId?: unknown } | null)?.jobId;
              try {
                auth.checkJob(token, typeof jobId === 'string' ? jobId : '');
              } catch (err) {
                reject(err);
                return;
              }
            }
            msgNext(message);
          },
          onReceiveHalfClose: (hcNext) => {
            if (!rejected) hcNext();
          },
        }),
    });
  };
}

/** The client side: adds `authorization: Bearer <token>` to every call of a channel. */
export function bearerInterceptor(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (metadata.get(AUTHORIZATION_KEY).length === 0) metadata.set(AUTHORIZATION_KEY, value);
        next(metadata, listener);
      },
    });
}

/** Codes a client sees when a credential is refused (never retried). */
export const AUTH_FAILURE_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.PERMISSION_DENIED,
]);
