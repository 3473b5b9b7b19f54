#!/usr/bin/env node
// The CLI is written in TypeScript and run through tsx, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
