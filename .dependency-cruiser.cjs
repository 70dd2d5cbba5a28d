/*
 * The import direction of DESIGN.md, enforced (docs/architecture.md explains each floor):
 *
 *   core <- store <- blobs, audit, auth, events, jobs <- data, tracking <- registry, ml <- serving
 *        <- monitoring <- pipelines, cost <- governance <- app (the wiring) <- server, cli
 *   client sees only client/ and *.schema.ts (plus core's errors); web/ sees only client/ and *.schema.ts.
 *
 * A floor may import the floors below it and never one above. Folders that do not exist yet
 * (monitoring, pipelines, cost) have their rules already, so they start in the right place.
 * Each rule lists what a floor may NOT import. Tests are checked by the same rules.
 */
const floors = [
  ['core'],
  ['store'],
  ['blobs', 'audit', 'auth', 'events', 'jobs'],
  ['data', 'tracking'],
  ['registry', 'ml'],
  ['serving'],
  ['monitoring'],
  ['pipelines', 'cost'],
  ['governance'],
  ['app'],
  ['server', 'cli'],
];
const any = (names) => `^src/(${names.join('|')})/`;
const above = (i) => floors.slice(i + 1).flat();

/** One rule per floor: nothing above it. */
const floorRules = floors.slice(1, -1).map((names, j) => ({
  name: `${names.join('-')}-sees-only-lower-floors`,
  severity: 'error',
  from: { path: any(names) },
  to: { path: any([...above(j + 1), 'client']) },
}));

/** Pairs on one floor that do not import each other (each way is listed). */
const siblings = [
  ['tracking', 'data', 'data reads tracking (run inputs); tracking reaches data only through callbacks.'],
  ['registry', 'ml', 'registry and ml sit side by side: they meet in the wiring and in serving.'],
  ['ml', 'registry', 'registry and ml sit side by side: they meet in the wiring and in serving.'],
  ['pipelines', 'cost', 'pipelines and cost talk through events and ports, not imports.'],
  ['cost', 'pipelines', 'pipelines and cost talk through events and ports, not imports.'],
  ['blobs', 'auth', 'the foundation floor: blobs and audit form the bottom pair.'],
  ['audit', 'auth', 'auth writes audit entries, never the reverse.'],
  ['audit', 'events', 'events and jobs may write audit entries, never the reverse.'],
  ['audit', 'jobs', 'events and jobs may write audit entries, never the reverse.'],
  ['blobs', 'events', 'blobs know nothing of events or jobs.'],
  ['blobs', 'jobs', 'blobs know nothing of events or jobs.'],
  ['events', 'jobs', 'events and jobs are independent seams; the wiring connects job triggers to events.'],
  ['jobs', 'events', 'events and jobs are independent seams; the wiring connects job triggers to events.'],
  ['events', 'auth', 'the outbox needs no users.'],
  ['jobs', 'auth', 'the job queue needs no users.'],
].map(([from, to, comment]) => ({
  name: `${from}-does-not-import-${to}`,
  comment,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: `^src/${to}/` },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    ...floorRules,
    ...siblings,
    {
      name: 'core-is-the-bottom',
      comment: 'core/domain-deps.ts names the types of store, audit and blobs, type-only (see the file).',
      severity: 'error',
      from: { path: '^src/core/', pathNot: '^src/core/domain-deps\\.ts$' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'core-deps-type-is-type-only',
      severity: 'error',
      from: { path: '^src/core/domain-deps\\.ts$' },
      to: { path: '^src/', pathNot: '^src/core/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'store-sees-only-core',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: any(['core', 'store']) },
    },
    {
      name: 'serving-never-imports-governance',
      comment: 'governance reads serving (trace, explanations) through ports; never the reverse.',
      severity: 'error',
      from: { path: '^src/serving/' },
      to: { path: '^src/governance/' },
    },
    {
      name: 'server-does-not-import-cli',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cross-domain-imports-go-through-index',
      comment:
        "A domain is entered through its index.ts (or a sub-domain index.ts). core is a toolkit, not a domain; *.schema.ts contracts and the store's table types (store/schema*.ts) are shared by design. The wiring floors (app, server, cli) assemble the domains and are exempt.",
      severity: 'error',
      from: { path: '^src/([^/]+)/', pathNot: '^src/(app|server|cli)/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/$1/',
          '^src/core/',
          '/index\\.ts$',
          '\\.schema\\.ts$',
          '^src/store/schema[^/]*\\.ts$',
        ],
      },
    },
    {
      name: 'client-sees-only-schemas-and-core-errors',
      comment: 'and the dependency-free concurrency helper of core',
      severity: 'error',
      from: { path: '^src/client/' },
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
        pathNot: ['\\.repo\\.ts$', '^src/store/', '\\.test\\.ts$', '\\.contract\\.ts$'],
      },
      to: { path: 'node_modules/(kysely|pg|better-sqlite3)/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
