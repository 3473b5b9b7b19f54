/**
 * Submits a TrainingJob with `@distrain/client` and follows it to the end: what a team that trains
 * from its own TypeScript service writes. Needs a coordinator (`distrain up`, or the cluster's).
 *
 *   node --import tsx examples/client-submit.ts [--coordinator HOST:PORT] [--epochs N] [SPEC]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { DistrainClient, JobServiceError, resolveUserToken } from '@distrain/client';
import type { TrainingJobInput } from '@distrain/client';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { coordinator: { type: 'string', default: '127.0.0.1:7070' }, epochs: { type: 'string' } },
});
const job: TrainingJobInput = parse(
  readFileSync(positionals[0] ?? new URL('./mnist-mlp.yaml', import.meta.url), 'utf8'),
) as TrainingJobInput;
if (values.epochs) job.spec.epochs = Number(values.epochs);

// The token: DISTRAIN_TOKEN, else the file `distrain up` wrote (~/.config/distrain/token).
const token = resolveUserToken(undefined, process.env);
const client = new DistrainClient({ address: values.coordinator, ...(token ? { token } : {}) });
try {
  const submitted = await client.submit(job);
  console.log(`submitted ${submitted.id}`);
  for await (const e of client.watch(submitted.id)) {
    if (e.event === 'state')
      console.log(`state ${e.state.state}${e.state.reason ? ` (${e.state.reason})` : ''}`);
    if (e.event === 'epoch')
      console.log(`epoch ${e.epoch.epoch}: test accuracy ${(e.epoch.testAccuracy * 100).toFixed(2)}%`);
  }
  const final = await client.get(submitted.id);
  console.log(`final: ${final.state}, ${final.epochs.length} epochs`);
  process.exitCode = final.state === 'JOB_STATE_SUCCEEDED' ? 0 : 1;
} catch (err) {
  // Typed errors: InvalidArgumentError names the field, JobNotFoundError, UnavailableError, ...
  if (err instanceof JobServiceError) console.error(`${err.name}: ${err.message}`);
  else throw err;
  process.exitCode = 1;
} finally {
  client.close();
}
