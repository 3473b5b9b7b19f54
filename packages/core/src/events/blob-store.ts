import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Durable named blobs (a job's final artifacts): JetStream Object Store when NATS is configured
 * (`NatsJobStore.blobStore`), files under a state folder otherwise ({@link FileBlobStore}).
 */
export interface BlobStore {
  /** Where the blobs live, for logs (`nats object store distrain-results`, a folder). */
  readonly location: string;
  /** Stores `data` under `name` (replacing it); resolves once it is durable. */
  put(name: string, data: Uint8Array): Promise<void>;
  /** The blob, or undefined when there is none. */
  get(name: string): Promise<Uint8Array | undefined>;
}

/** Blob names are `/`-separated ASCII words; anything else is refused (file names come from them). */
const BLOB_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Throws on a name that could leave the store's folder or would not be portable. */
export function checkBlobName(name: string): void {
  if (!BLOB_NAME.test(name) || name.split('/').some((p) => p === '.' || p === '..'))
    throw new Error(`invalid blob name ${JSON.stringify(name.slice(0, 100))}`);
}

/** Blobs as files under one folder (written to a temporary file, then renamed: never half-written). */
export class FileBlobStore implements BlobStore {
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = dir;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    checkBlobName(name);
    const path = join(this.dir, name);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async get(name: string): Promise<Uint8Array | undefined> {
    checkBlobName(name);
    try {
      return await readFile(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
