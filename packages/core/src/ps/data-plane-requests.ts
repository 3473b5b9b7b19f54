import type { PullRequest } from '../generated/distrain/v1/PullRequest.ts';
import type { PushPullRequest } from '../generated/distrain/v1/PushPullRequest.ts';
import { distrainProto } from '../proto.ts';
import { encodePushPullRequest } from './fast-codecs.ts';
import { DATA_PLANE_PAD_BYTES } from './zmq-channel.ts';

// How ParameterClient (ps-client.ts) writes data-plane requests.

/** The host of a `host:port` or `[v6]:port` address, as a ZeroMQ tcp endpoint writes it. */
export function hostOf(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

/** A PushPullRequest as a data-plane body: padding, then the message (a fresh buffer ZeroMQ may keep). */
export function padded(request: PushPullRequest): Buffer {
  let bytes = 64 + (request.jobId?.length ?? 0) * 3;
  for (const list of [request.grads, request.states])
    for (const nt of list ?? []) bytes += 64 + (nt.name?.length ?? 0) * 3 + (nt.tensor?.data?.length ?? 0);
  const buf = Buffer.allocUnsafe(DATA_PLANE_PAD_BYTES + bytes);
  buf.fill(0, 0, DATA_PLANE_PAD_BYTES);
  const out = encodePushPullRequest(request, buf.subarray(DATA_PLANE_PAD_BYTES));
  const message = out ?? pushPullRequestBytes(request);
  if (out && out.buffer === buf.buffer && out.byteOffset === buf.byteOffset + DATA_PLANE_PAD_BYTES)
    return buf.subarray(0, DATA_PLANE_PAD_BYTES + out.length);
  return Buffer.concat([Buffer.alloc(DATA_PLANE_PAD_BYTES), message]);
}

export function pullRequestBytes(request: PullRequest): Buffer {
  return distrainProto().ParameterServerService.service.Pull.requestSerialize(request);
}

function pushPullRequestBytes(request: PushPullRequest): Buffer {
  return distrainProto().ParameterServerService.service.PushPull.requestSerialize(request);
}
