/**
 * The link between a distrain child process and the process that started it (the CLI's local stack
 * starts the services, the coordinator's local launcher starts the workers): an IPC channel (the
 * fourth stdio slot, `'ipc'`). The child exits when the channel closes, which the kernel does when
 * the parent dies, even by SIGKILL, so no service or worker outlives the process that owns it. The
 * parent can also send small notices over it (`ParentNotice`: the CLI tells the coordinator that it
 * restarted a service). A process started without the channel (a pod, a test that spawns `main.ts`
 * by hand) is unaffected.
 */

/** The stdio of a child that is linked to its parent: stdout and stderr piped, plus the IPC channel. */
export const LINKED_STDIO = ['ignore', 'pipe', 'pipe', 'ipc'] as const;

/** A notice a parent sends to its child over the link. */
export interface ParentNotice {
  type: 'service-restarted' | 'service-down' | 'service-gave-up';
  /** Which service (`data-loader`, `parameter-server-0`, ...). */
  service: string;
  /** Its host:port. */
  address: string;
  /** `warn` or `error`. */
  level: string;
  /** One line for people. */
  message: string;
}

/** True for a value shaped as a {@link ParentNotice} (what arrives over IPC is untyped). */
export function isParentNotice(value: unknown): value is ParentNotice {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.type === 'service-restarted' || v.type === 'service-down' || v.type === 'service-gave-up') &&
    typeof v.service === 'string' &&
    typeof v.address === 'string' &&
    typeof v.level === 'string' &&
    typeof v.message === 'string'
  );
}

/** What {@link watchParent} calls. */
export interface ParentWatch {
  /** The parent is gone (the link closed). */
  onLoss(): void;
  /** A notice from the parent. @default ignored */
  onNotice?(notice: ParentNotice): void;
}

/**
 * Watches the link to the parent when this process has one; returns whether it has. The link does
 * not keep the process alive (the channel is unref'd), so a worker still exits when its work ends.
 */
export function watchParent(watch: ParentWatch): boolean {
  // The link closed while this process was still loading (its parent died during its startup):
  // `disconnect` was emitted before anyone listened.
  if (process.connected === false) {
    watch.onLoss();
    return true;
  }
  if (!process.channel) return false;
  process.on('disconnect', () => watch.onLoss());
  process.on('message', (message: unknown) => {
    if (isParentNotice(message)) watch.onNotice?.(message);
  });
  // Listeners ref the channel; unref after adding them.
  process.channel.unref();
  return true;
}
