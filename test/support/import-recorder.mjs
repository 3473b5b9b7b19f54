// Preloaded with `--import` by the start-up checks: records every module URL a process resolves
// into the file named by DISTRAIN_IMPORT_LOG (one URL a line), so a test can tell what it loaded.
import { register } from 'node:module';

if (process.env.DISTRAIN_IMPORT_LOG) register('./import-recorder-hooks.mjs', import.meta.url);
