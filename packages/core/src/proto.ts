import { loadSync } from '@grpc/proto-loader';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { ChannelOptions, ClientOptions } from '@grpc/grpc-js';
import { channelCredentials, clientInterceptors, defaultClientSecurity } from './auth/security.ts';
import type { ClientSecurity } from './auth/security.ts';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { installPsCodecs } from './ps/fast-codecs.ts';
import type { ProtoGrpcType as CoordinatorProto } from './generated/coordinator.ts';
import type { ProtoGrpcType as DataLoaderProto } from './generated/data_loader.ts';
import type { ProtoGrpcType as ParameterServerProto } from './generated/parameter_server.ts';
import type { DataLoaderServiceClient } from './generated/distrain/v1/DataLoaderService.ts';
import type { ParameterServerServiceClient } from './generated/distrain/v1/ParameterServerService.ts';
import type { JobServiceClient } from './generated/distrain/v1/JobService.ts';
import type { WorkerServiceClient } from './generated/distrain/v1/WorkerService.ts';

/** Folder holding `distrain/v1/*.proto` (the wire contract). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** The proto files, relative to {@link PROTO_DIR}. */
export const PROTO_FILES = [
  'distrain/v1/tensor.proto',
  'distrain/v1/data_loader.proto',
  'distrain/v1/parameter_server.proto',
  'distrain/v1/evaluator.proto',
  'distrain/v1/coordinator.proto',
] as const;

/** Loader options shared with `scripts/proto-gen.mjs` so the generated types match what the runtime decodes. */
const OPTIONS = JSON.parse(readFileSync(new URL('./proto-options.json', import.meta.url), 'utf8')) as {
  keepCase: boolean;
  longs: string;
  enums: string;
  defaults: boolean;
  oneofs: boolean;
};

let cached: PackageDefinition | undefined;

/**
 * Loads every distrain proto into a fresh package definition. With `fastCodecs` (the default) the
 * tensor-heavy parameter-server messages get the hand-written codecs of `ps/fast-codecs.ts`; without
 * it every message goes through protobufjs (tests compare the two).
 */
export function loadDefinition(options: { fastCodecs?: boolean } = {}): PackageDefinition {
  const def = loadSync([...PROTO_FILES], {
    keepCase: OPTIONS.keepCase,
    longs: OPTIONS.longs === 'Number' ? Number : String,
    enums: String,
    defaults: OPTIONS.defaults,
    oneofs: OPTIONS.oneofs,
    includeDirs: [PROTO_DIR],
  });
  return options.fastCodecs === false ? def : installPsCodecs(def);
}

/** The package definition of every distrain proto (loaded once), shared by clients and servers. */
export function packageDefinition(): PackageDefinition {
  cached ??= loadDefinition();
  return cached;
}

/** Typed view of the loaded `distrain.v1` package. */
export type DistrainProto = (CoordinatorProto & DataLoaderProto & ParameterServerProto)['distrain']['v1'];

/** The `distrain.v1` package: service definitions and client constructors. */
export function distrainProto(): DistrainProto {
  const root = loadPackageDefinition(packageDefinition()) as unknown as {
    distrain: { v1: DistrainProto };
  };
  return root.distrain.v1;
}

/** Default largest gRPC message, both directions: 64 MiB (tensors travel in parts of at most 4 MB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Channel options every distrain client uses. */
export function clientOptions(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
  };
}

/**
 * The credentials and options of a client: TLS and the bearer token of `security` (default: the
 * process's, see `setDefaultClientSecurity`), the shared channel options, then `options`.
 */
function channel(security: ClientSecurity | undefined, options: ChannelOptions | undefined) {
  const sec = security ?? defaultClientSecurity();
  const opts: ClientOptions = { ...clientOptions(), ...options, interceptors: clientInterceptors(sec) };
  return [channelCredentials(sec), opts] as const;
}

/** A DataLoaderService client for `address` (host:port). */
export function dataLoaderClient(
  address: string,
  options?: ChannelOptions,
  security?: ClientSecurity,
): DataLoaderServiceClient {
  return new (distrainProto().DataLoaderService)(address, ...channel(security, options));
}

/** A ParameterServerService client for `address` (host:port). */
export function parameterServerClient(
  address: string,
  options?: ChannelOptions,
  security?: ClientSecurity,
): ParameterServerServiceClient {
  return new (distrainProto().ParameterServerService)(address, ...channel(security, options));
}

/** A JobService client for `address` (host:port). */
export function jobClient(
  address: string,
  options?: ChannelOptions,
  security?: ClientSecurity,
): JobServiceClient {
  return new (distrainProto().JobService)(address, ...channel(security, options));
}

/** A WorkerService client for `address` (host:port). */
export function workerClient(
  address: string,
  options?: ChannelOptions,
  security?: ClientSecurity,
): WorkerServiceClient {
  return new (distrainProto().WorkerService)(address, ...channel(security, options));
}
