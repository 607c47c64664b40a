/**
 * Import rules checked by `npm test` (npm run lint:deps). They keep the layers apart:
 * pipelines load data and never serve it; the catalog is built from the database, not from the
 * HTTP layer; nothing imports in a circle.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other in a circle: move the shared part to a module both import.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'pipelines-not-server',
      severity: 'error',
      comment: 'A pipeline loads data; the HTTP layer (src/server) serves it. Shared helpers belong in src/, outside src/server.',
      from: { path: '^pipelines/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'catalog-not-server',
      severity: 'error',
      comment: 'The DCAT catalog is built from the database; the server only renders it.',
      from: { path: '^src/catalog/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'engine-not-server',
      severity: 'error',
      comment: 'The load engine, the packs and the queue run without the HTTP layer.',
      from: { path: '^src/(engine|packs|queue|harvest|communes|geo|db|publish)/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'src-not-tests',
      severity: 'error',
      comment: 'Production code never imports tests or benchmarks.',
      from: { path: '^(src|pipelines|config)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // csv-parse/sync, stream-json/filters/… are subpath exports: resolve them the way Node does.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'import', 'default'],
      mainFields: ['main', 'types'],
    },
    exclude: { path: '^(node_modules|var|coverage)/' },
  },
};
