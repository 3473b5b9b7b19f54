#!/usr/bin/env node
// The CLI runs its TypeScript through tsx, so a fresh clone needs no build step. In the images
// (`node --conditions=compiled`) it runs the compiled JavaScript of `npm run build` instead.
const compiled = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('conditions=compiled'));
if (compiled) {
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
