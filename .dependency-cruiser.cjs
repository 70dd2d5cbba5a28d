/*
 * The import direction of DESIGN.md:
 *   core <- store <- blobs, audit, auth <- data, tracking <- registry, ml <- serving <- monitoring
 *   pipelines, cost, governance read lower domains; server and cli wire everything; client and web
 *   see only client/ and *.schema.ts.
 * Each rule lists what a layer may NOT import.
 */
const layer = (name) => `^src/${name}/`;
const domains = [
  'data',
  'tracking',
  'registry',
  'ml',
  'serving',
  'monitoring',
  'pipelines',
  'cost',
  'governance',
];
const wiring = ['server', 'cli'];
const any = (names) => `^src/(${names.join('|')})/`;

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      from: { path: layer('core') },
      to: { path: '^src/', pathNot: layer('core') },
    },
    {
      name: 'store-sees-only-core',
      severity: 'error',
      from: { path: layer('store') },
      to: { path: '^src/', pathNot: any(['core', 'store']) },
    },
    {
      name: 'foundation-layer-sees-core-and-store',
      severity: 'error',
      from: { path: any(['blobs', 'audit']) },
      to: { path: '^src/', pathNot: any(['core', 'store', 'blobs', 'audit']) },
    },
    {
      name: 'auth-sees-core-store-audit',
      severity: 'error',
      from: { path: layer('auth') },
      to: { path: '^src/', pathNot: any(['core', 'store', 'audit', 'auth']) },
    },
    {
      name: 'domains-never-import-wiring-or-client',
      severity: 'error',
      from: { path: any([...domains, 'core', 'store', 'blobs', 'audit', 'auth']) },
      to: { path: any([...wiring, 'client']) },
    },
    {
      name: 'tracking-below-registry',
      severity: 'error',
      from: { path: any(['data', 'tracking']) },
      to: { path: any(['registry', 'ml', 'serving', 'monitoring', 'pipelines', 'cost', 'governance']) },
    },
    {
      name: 'tracking-below-data',
      comment: 'data reads tracking (run inputs); tracking reaches data only through callbacks it is given.',
      severity: 'error',
      from: { path: layer('tracking') },
      to: { path: layer('data') },
    },
    {
      name: 'registry-and-ml-below-serving',
      comment: 'registry and ml sit side by side: neither imports the other, nor anything above them.',
      severity: 'error',
      from: { path: any(['registry', 'ml']) },
      to: { path: any(['serving', 'monitoring', 'pipelines', 'cost', 'governance']) },
    },
    {
      name: 'registry-and-ml-are-siblings',
      severity: 'error',
      from: { path: layer('registry') },
      to: { path: layer('ml') },
    },
    {
      name: 'ml-and-registry-are-siblings',
      severity: 'error',
      from: { path: layer('ml') },
      to: { path: layer('registry') },
    },
    {
      name: 'server-does-not-import-cli',
      severity: 'error',
      from: { path: layer('server') },
      to: { path: layer('cli') },
    },
    {
      name: 'client-sees-only-schemas-and-core-errors',
      comment: 'and the dependency-free concurrency helper of core',
      severity: 'error',
      from: { path: layer('client') },
      to: {
        path: '^src/',
        pathNot: ['^src/client/', '\\.schema\\.ts$', '^src/core/(errors|concurrency)\\.ts$'],
      },
    },
    {
      name: 'web-sees-only-client-and-schemas',
      comment: 'The web UI talks to the API through the typed client and shares only the zod contracts.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/', pathNot: ['^src/client/', '\\.schema\\.ts$'] },
    },
    {
      name: 'sql-only-in-repos-and-store',
      comment: 'Only *.repo.ts files (and store/, and the migrations) touch the query builder.',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: ['\\.repo\\.ts$', '^src/store/', '\\.test\\.ts$'],
      },
      to: { path: 'node_modules/(kysely|pg|better-sqlite3)/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.(test|contract)\\.ts$' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
