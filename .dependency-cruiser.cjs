/**
 * Dependency rules (`npm run deps:check`, part of `npm test`): no cycles; the core library never
 * depends on a service; no service depends on another service; nothing outside a package imports
 * its files by path (only through its doors, `@distrain/core[/area]`); TensorFlow.js is imported only
 * under packages/core/src/model, and the roles that do not compute (parameter server, data-loader,
 * the light doors) cannot reach it; the coordinator reaches it only through its lazy model-door.ts
 * (test/integration/startup-imports.test.ts checks at run time that it starts without it).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles at run time (a cycle made only of type imports is erased by the compiler)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'core-not-to-services',
      comment: 'the core library must not depend on a service or the CLI',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '^(services|packages/cli|packages/client)/' },
    },
    {
      name: 'no-service-to-service',
      comment: 'services talk over gRPC, never by import',
      severity: 'error',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'doors-only',
      comment: 'outside a package, import it through its package name and subpath doors, not by path',
      severity: 'error',
      from: { pathNot: '^packages/core/' },
      to: { path: '^packages/core/', dependencyTypes: ['local'], dependencyTypesNot: ['aliased-workspace', 'undetermined'] },
    },
    {
      name: 'tfjs-only-in-model',
      comment: 'TensorFlow.js is imported only by packages/core/src/model (the @distrain/core/model door)',
      severity: 'error',
      from: { pathNot: '^packages/core/src/model/|^test/|^bench/' },
      to: { path: '@tensorflow/' },
    },
    {
      name: 'light-roles-without-tfjs',
      comment:
        'the light doors, the parameter server and the data-loader must not reach TensorFlow.js',
      severity: 'error',
      from: {
        path: '^(packages/core/src/(index|datasets/index|ps/index|metrics/index|events/index)\\.ts|services/(parameter-server|data-loader)/src/main\\.ts)$',
      },
      to: { path: '@tensorflow/', reachable: true },
    },
    {
      name: 'coordinator-model-door-only',
      comment: 'the coordinator reaches the model area only through model-door.ts, which loads it on first use',
      severity: 'error',
      from: { path: '^services/coordinator/', pathNot: '^services/coordinator/src/model-door\\.ts$' },
      to: { path: '^packages/core/src/model/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)generated/|^(packages|services)/[^/]+/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
