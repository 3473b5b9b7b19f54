// Over 400 lines: one HTTP handler for every resource the coordinator touches; splitting it would scatter the routes.
/**
 * An in-test Kubernetes API server: serves the REST paths @kubernetes/client-node calls for pods,
 * secrets, pod templates and events in a namespace (create, get, list and watch with label
 * selectors, delete, pod status patch, 404 `Status` bodies) and *runs* the pods it is given as local
 * child processes: the container's command and args, its env (values, `secretKeyRef`, `fieldRef`),
 * the working dir mapped to this repository. It reports Pending -> Running -> Succeeded/Failed with
 * container statuses (exit code, reason, termination message from the log tail) through watch
 * events, deletes pods gracefully (SIGTERM, then gone), and garbage-collects pods whose owner is
 * deleted. Custom resources: `trainingjobs` (distrain.io/v1) with create, list, watch, merge patch
 * (finalizers, spec: `metadata.generation` grows), the status subresource, and deletion that waits for
 * finalizers (deletionTimestamp set, gone once the last finalizer is removed). Every request is
 * recorded as `resource:verb` so tests can compare it with RBAC rules.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string; name: string }[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    finalizers?: string[];
    generation?: number;
  };
  [key: string]: unknown;
}

interface PodContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
  }[];
  terminationMessagePolicy?: string;
}

interface PodStatus {
  phase: string;
  reason?: string;
  message?: string;
  startTime?: string;
  podIP?: string;
  conditions?: { type: string; status: string; reason?: string }[];
  containerStatuses?: {
    name: string;
    image: string;
    imageID: string;
    ready: boolean;
    started: boolean;
    restartCount: number;
    state: Record<string, Record<string, unknown>>;
  }[];
}

interface WatchEvent {
  rv: number;
  resource: string;
  namespace: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface Watcher {
  resource: string;
  namespace: string;
  selector: string;
  res: ServerResponse;
}

/** Options of {@link KubeApiDouble}. */
export interface KubeApiDoubleOptions {
  /** Container working dirs mapped to local dirs (e.g. the image's `/app` -> the repo root). */
  workdirMap: Record<string, string>;
  /** Environment every container gets before its own (PATH, HOME). */
  baseEnv?: Record<string, string>;
  /** Receives every output line of every pod. */
  onPodLog?: (pod: string, line: string) => void;
}

const RESOURCES = new Set(['pods', 'secrets', 'podtemplates', 'events', 'trainingjobs']);
/** Custom resources, served under /apis/GROUP/VERSION, with a status subresource and finalizers. */
const CUSTOM: Record<string, { apiVersion: string; kind: string }> = {
  trainingjobs: { apiVersion: 'distrain.io/v1', kind: 'TrainingJob' },
};

/** Does `labels` match a label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated)? */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  const l = labels ?? {};
  for (const term of selector
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')) {
    let m: RegExpExecArray | null;
    if ((m = /^([^!=]+)!=(.*)$/.exec(term))) {
      if (l[m[1]!.trim()] === m[2]!.trim()) return false;
    } else if ((m = /^([^!=]+)==?(.*)$/.exec(term))) {
      if (l[m[1]!.trim()] !== m[2]!.trim()) return false;
    } else if (term.startsWith('!')) {
      if (term.slice(1) in l) return false;
    } else if (!(term in l)) {
      return false;
    }
  }
  return true;
}

function statusBody(
  code: number,
  reason: string,
  message: string,
  details: Record<string, string> = {},
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  };
}

/** Applies an RFC 7386 merge patch (also used for strategic merge patches of plain fields). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Applies an RFC 6902 JSON patch (add, replace, remove). */
function jsonPatch(
  target: Record<string, unknown>,
  ops: { op: string; path: string; value?: unknown }[],
): Record<string, unknown> {
  const doc = structuredClone(target);
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop() as string;
    let node: Record<string, unknown> = doc;
    for (const p of parts) {
      node[p] ??= {};
      node = node[p] as Record<string, unknown>;
    }
    if (op.op === 'remove') delete node[last];
    else if (op.op === 'add' || op.op === 'replace') node[last] = op.value;
    else throw new Error(`unsupported JSON patch op ${op.op}`);
  }
  return doc;
}

/** The running double. */
export class KubeApiDouble {
  /** Every request as `resource:verb` (verbs as RBAC names them), in order. */
  readonly calls: string[] = [];
  private readonly store = new Map<string, Map<string, KubeObject>>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly processes = new Map<string, ChildProcess>();
  private readonly killReasons = new Map<string, string>();
  private rv = 1;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly options: KubeApiDoubleOptions) {
    for (const r of RESOURCES) this.store.set(r, new Map());
  }

  /** Starts listening on 127.0.0.1 (any free port). */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.send(res, 500, statusBody(500, 'InternalError', (err as Error).message));
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  /** A kubeconfig for client-node (plain http needs `insecure-skip-tls-verify`). */
  kubeconfig(namespace: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: double`,
      `  cluster: { server: "http://127.0.0.1:${this.port}", insecure-skip-tls-verify: true }`,
      'users:',
      '- name: tester',
      '  user: { token: test-token }',
      'contexts:',
      `- name: double`,
      `  context: { cluster: double, user: tester, namespace: ${namespace} }`,
      'current-context: double',
      '',
    ].join('\n');
  }

  /** Stops every pod process and the server. */
  async close(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    await Promise.all(
      [...this.processes.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Objects of a resource in a namespace, optionally filtered by a label selector. */
  list(resource: string, namespace: string, selector = ''): KubeObject[] {
    return [...(this.store.get(resource)?.values() ?? [])].filter(
      (o) => o.metadata.namespace === namespace && matchesSelector(o.metadata.labels, selector),
    );
  }

  /** Puts an object as is (test setup, e.g. the PodTemplates of the rendered manifests). */
  seed(resource: string, namespace: string, obj: KubeObject): void {
    this.put(resource, namespace, structuredClone(obj), 'ADDED');
  }

  /** Sends a signal to a pod's process (a crash; `reason` as the kubelet would report it, e.g. OOMKilled). */
  kill(podName: string, signal: NodeJS.Signals = 'SIGKILL', reason = 'Error'): boolean {
    const child = this.processes.get(podName);
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    this.killReasons.set(podName, reason);
    return child.kill(signal);
  }

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  private put(resource: string, namespace: string, obj: KubeObject, type: WatchEvent['type']): KubeObject {
    obj.metadata.namespace = namespace;
    obj.metadata.resourceVersion = String(++this.rv);
    const map = this.store.get(resource) as Map<string, KubeObject>;
    if (type === 'DELETED') map.delete(this.key(namespace, obj.metadata.name));
    else map.set(this.key(namespace, obj.metadata.name), obj);
    const event: WatchEvent = { rv: this.rv, resource, namespace, type, object: structuredClone(obj) };
    this.history.push(event);
    for (const w of this.watchers) this.deliver(w, event);
    return obj;
  }

  private deliver(w: Watcher, e: WatchEvent): void {
    if (
      w.resource !== e.resource ||
      w.namespace !== e.namespace ||
      !matchesSelector(e.object.metadata.labels, w.selector)
    )
      return;
    w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const m =
      /^\/(?:api\/v1|apis\/distrain\.io\/v1)\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(
        url.pathname,
      );
    if (!m || !RESOURCES.has(m[2]!)) {
      this.calls.push(`${url.pathname}:${req.method ?? ''}`);
      return this.send(
        res,
        404,
        statusBody(404, 'NotFound', `the server could not find the requested resource ${url.pathname}`),
      );
    }
    const [, namespace, resource, name, sub] = m as unknown as [
      string,
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const map = this.store.get(resource) as Map<string, KubeObject>;
    const selector = url.searchParams.get('labelSelector') ?? '';
    const notFound = (): void =>
      this.send(
        res,
        404,
        statusBody(404, 'NotFound', `${resource} "${name ?? ''}" not found`, {
          name: name ?? '',
          kind: resource,
        }),
      );
    const record = (verb: string): void => {
      this.calls.push(`${sub ? `${resource}/${sub}` : resource}:${verb}`);
    };

    if (req.method === 'GET' && name === undefined) {
      if (url.searchParams.get('watch') === 'true') {
        record('watch');
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.flushHeaders();
        const w: Watcher = { resource, namespace, selector, res };
        const since = Number(url.searchParams.get('resourceVersion') ?? '0') || 0;
        if (since > 0) for (const e of this.history) if (e.rv > since) this.deliver(w, e);
        this.watchers.add(w);
        req.on('close', () => this.watchers.delete(w));
        return;
      }
      record('list');
      const custom = CUSTOM[resource];
      if (custom)
        return this.send(res, 200, {
          kind: `${custom.kind}List`,
          apiVersion: custom.apiVersion,
          metadata: { resourceVersion: String(this.rv) },
          items: this.list(resource, namespace, selector),
        });
      const kind = `${resource === 'podtemplates' ? 'PodTemplate' : resource === 'pods' ? 'Pod' : resource === 'secrets' ? 'Secret' : 'Event'}List`;
      return this.send(res, 200, {
        kind,
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.rv) },
        items: this.list(resource, namespace, selector),
      });
    }
    if (req.method === 'GET') {
      record('get');
      const obj = map.get(this.key(namespace, name as string));
      return obj ? this.send(res, 200, obj) : notFound();
    }
    if (req.method === 'POST' && name === undefined) {
      record('create');
      const obj = (await this.body(req)) as KubeObject;
      if (!obj?.metadata?.name)
        return this.send(res, 422, statusBody(422, 'Invalid', 'metadata.name: Required value'));
      if (map.has(this.key(namespace, obj.metadata.name))) {
        return this.send(
          res,
          409,
          statusBody(409, 'AlreadyExists', `${resource} "${obj.metadata.name}" already exists`, {
            name: obj.metadata.name,
            kind: resource,
          }),
        );
      }
      obj.metadata.uid = randomUUID();
      obj.metadata.creationTimestamp = new Date().toISOString();
      if (resource === 'secrets') {
        const data: Record<string, string> = { ...(obj['data'] as Record<string, string> | undefined) };
        for (const [k, v] of Object.entries((obj['stringData'] as Record<string, string> | undefined) ?? {}))
          data[k] = Buffer.from(v).toString('base64');
        obj['data'] = data;
        delete obj['stringData'];
      }
      if (CUSTOM[resource]) {
        // The status subresource: a create never sets status.
        delete obj['status'];
        obj.metadata.generation = 1;
      }
      if (resource === 'pods')
        obj['status'] = {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'True' }],
        } satisfies PodStatus;
      this.put(resource, namespace, obj, 'ADDED');
      this.send(res, 201, obj);
      if (resource === 'pods') setTimeout(() => this.run(namespace, obj), 20);
      return;
    }
    if (req.method === 'DELETE' && name !== undefined && !sub) {
      record('delete');
      const obj = map.get(this.key(namespace, name));
      if (!obj) return notFound();
      if ((obj.metadata.finalizers ?? []).length > 0) {
        // Finalizers hold the object: marked for deletion until its controllers remove them.
        obj.metadata.deletionTimestamp ??= new Date().toISOString();
        this.put(resource, namespace, obj, 'MODIFIED');
        return this.send(res, 200, obj);
      }
      this.send(
        res,
        200,
        resource === 'pods'
          ? obj
          : {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: { name, kind: resource, uid: obj.metadata.uid },
            },
      );
      this.remove(resource, namespace, obj);
      return;
    }
    if (req.method === 'PATCH' && CUSTOM[resource] && name !== undefined && !sub) {
      record('patch');
      const obj = map.get(this.key(namespace, name));
      if (!obj) return notFound();
      const patched = mergePatch(structuredClone(obj), await this.body(req)) as KubeObject;
      // The main resource ignores status; a spec change is a new generation.
      patched['status'] = obj['status'];
      patched.metadata.uid = obj.metadata.uid;
      if (JSON.stringify(patched['spec']) !== JSON.stringify(obj['spec']))
        patched.metadata.generation = (obj.metadata.generation ?? 1) + 1;
      if (patched.metadata.deletionTimestamp && (patched.metadata.finalizers ?? []).length === 0) {
        this.send(res, 200, patched);
        this.remove(resource, namespace, patched);
        return;
      }
      this.put(resource, namespace, patched, 'MODIFIED');
      return this.send(res, 200, patched);
    }
    if (
      req.method === 'PATCH' &&
      (resource === 'pods' || CUSTOM[resource]) &&
      name !== undefined &&
      sub === 'status'
    ) {
      record('patch');
      const obj = map.get(this.key(namespace, name));
      if (!obj) return notFound();
      const patch = await this.body(req);
      const type = req.headers['content-type'] ?? '';
      const patched = type.startsWith('application/json-patch+json')
        ? jsonPatch(obj, patch as { op: string; path: string; value?: unknown }[])
        : (mergePatch(obj, patch) as Record<string, unknown>);
      obj['status'] = patched['status'];
      this.put(resource, namespace, obj, 'MODIFIED');
      this.send(res, 200, obj);
      // A pod forced into a final phase (eviction, node loss) loses its container.
      const phase = (obj['status'] as PodStatus | undefined)?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') this.kill(name, 'SIGKILL');
      return;
    }
    record(req.method?.toLowerCase() ?? '?');
    this.send(
      res,
      405,
      statusBody(405, 'MethodNotAllowed', `${req.method ?? ''} is not supported on ${url.pathname}`),
    );
  }

  /** Deletes an object: pods gracefully (SIGTERM, gone once the process ends); owners' dependents too. */
  private remove(resource: string, namespace: string, obj: KubeObject): void {
    if (resource === 'pods') {
      if (obj.metadata.deletionTimestamp) return;
      obj.metadata.deletionTimestamp = new Date().toISOString();
      this.put('pods', namespace, obj, 'MODIFIED');
      const child = this.processes.get(obj.metadata.name);
      if (child && child.exitCode === null && child.signalCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          setImmediate(() => this.put('pods', namespace, obj, 'DELETED'));
        });
        child.kill('SIGTERM');
      } else {
        this.put('pods', namespace, obj, 'DELETED');
      }
      return;
    }
    this.put(resource, namespace, obj, 'DELETED');
    // The garbage collector: dependents of a deleted owner go too (background propagation).
    for (const pod of this.list('pods', namespace)) {
      if (pod.metadata.ownerReferences?.some((o) => o.uid === obj.metadata.uid))
        this.remove('pods', namespace, pod);
    }
  }

  /** The kubelet: runs the pod's first container as a local process and reports its phase. */
  private run(namespace: string, pod: KubeObject): void {
    if (
      pod.metadata.deletionTimestamp ||
      !this.store.get('pods')?.has(this.key(namespace, pod.metadata.name))
    )
      return;
    const spec = pod['spec'] as { containers: PodContainer[] };
    const c = spec.containers[0] as PodContainer;
    const env: Record<string, string> = { ...this.options.baseEnv, HOSTNAME: pod.metadata.name };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const secret = this.store.get('secrets')?.get(this.key(namespace, ref.name));
        const value = (secret?.['data'] as Record<string, string> | undefined)?.[ref.key];
        if (value === undefined)
          return this.finish(
            namespace,
            pod,
            null,
            'CreateContainerConfigError',
            `secret "${ref.name}" key "${ref.key}" not found`,
          );
        env[e.name] = Buffer.from(value, 'base64').toString('utf8');
      } else if (e.valueFrom?.fieldRef) {
        const path = e.valueFrom.fieldRef.fieldPath;
        env[e.name] =
          path === 'metadata.name' ? pod.metadata.name : path === 'metadata.namespace' ? namespace : '';
      }
    }
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    const cwd = this.options.workdirMap[c.workingDir ?? '/'] ?? c.workingDir ?? '/';
    const exe = argv[0] === 'node' ? process.execPath : (argv[0] as string);
    const child = spawn(exe, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.set(pod.metadata.name, child);
    const tail: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.on('data', (d: Buffer) => {
        const lines = (partial + d.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 80) tail.shift();
          this.options.onPodLog?.(pod.metadata.name, line);
        }
      });
    }
    const startedAt = new Date().toISOString();
    child.once('spawn', () => {
      const status: PodStatus = {
        phase: 'Running',
        startTime: startedAt,
        podIP: '127.0.0.1',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        containerStatuses: [
          {
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt } },
          },
        ],
      };
      if (this.phase(namespace, pod) === 'Pending') {
        pod['status'] = status;
        this.put('pods', namespace, pod, 'MODIFIED');
      }
    });
    child.once('error', (err) => this.finish(namespace, pod, 128, 'StartError', err.message));
    child.once('exit', (code, signal) => {
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1);
      const message =
        exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError'
          ? tail.join('\n').slice(-2048)
          : undefined;
      this.finish(
        namespace,
        pod,
        exitCode,
        exitCode === 0 ? 'Completed' : (this.killReasons.get(pod.metadata.name) ?? 'Error'),
        message,
      );
    });
  }

  private phase(namespace: string, pod: KubeObject): string | undefined {
    const current = this.store.get('pods')?.get(this.key(namespace, pod.metadata.name));
    return (current?.['status'] as PodStatus | undefined)?.phase;
  }

  /** Final container state; the phase follows the exit code unless a status patch already ended the pod. */
  private finish(
    namespace: string,
    pod: KubeObject,
    exitCode: number | null,
    reason: string,
    message?: string,
  ): void {
    if (!this.store.get('pods')?.has(this.key(namespace, pod.metadata.name))) return;
    const status = (pod['status'] as PodStatus | undefined) ?? { phase: 'Pending' };
    const name = (pod['spec'] as { containers: PodContainer[] }).containers[0]?.name ?? 'main';
    const state: Record<string, Record<string, unknown>> = exitCode === null
      ? { waiting: { reason, message: message ?? '' } }
      : {
          terminated: {
            exitCode,
            reason,
            ...(message ? { message } : {}),
            finishedAt: new Date().toISOString(),
          },
        };
    const ended = status.phase === 'Failed' || status.phase === 'Succeeded';
    pod['status'] = {
      ...status,
      phase: ended ? status.phase : exitCode === 0 ? 'Succeeded' : exitCode === null ? 'Pending' : 'Failed',
      conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted' }],
      containerStatuses: [
        { name, image: '', imageID: '', ready: false, started: false, restartCount: 0, state },
      ],
    } satisfies PodStatus;
    this.put('pods', namespace, pod, 'MODIFIED');
  }
}
