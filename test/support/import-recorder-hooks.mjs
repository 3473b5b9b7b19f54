// Module resolve hook (runs on the loader thread): appends each resolved URL to DISTRAIN_IMPORT_LOG.
import { appendFileSync } from 'node:fs';

const log = process.env.DISTRAIN_IMPORT_LOG;

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (log) appendFileSync(log, `${result.url}\n`);
  return result;
}
