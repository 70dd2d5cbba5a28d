import {
  type ComponentType,
  createElement,
  lazy,
  type ReactNode,
  Suspense,
  useEffect,
  useState,
} from 'react';
import type { Principal } from '../../src/auth/auth.schema.js';
import { api, currentToken, setToken } from './api';
import { ErrorBox, Loading } from './components/status';
import { Link, match, useLocation } from './router';
import { SessionContext, useCan } from './session';

// biome-ignore lint/suspicious/noExplicitAny: each page takes its own route params
type AnyPage = ComponentType<any>;
/**
 * A page module loaded on first visit, so the first load carries only the shell. Once loaded (or
 * preloaded) the page renders directly: a lazy component would suspend, and React holds a suspended
 * boundary's content back for up to 300 ms.
 */
interface PageEntry {
  preload: () => Promise<AnyPage>;
  loaded?: AnyPage;
  Lazy: AnyPage;
}
function page(load: () => Promise<Record<string, unknown>>, name: string): PageEntry {
  const entry = {} as PageEntry;
  entry.preload = () =>
    load().then((m) => {
      entry.loaded = m[name] as AnyPage;
      return entry.loaded;
    });
  entry.Lazy = lazy(async () => ({ default: await entry.preload() }));
  return entry;
}

function PageView({ entry, params }: { entry: PageEntry; params: Record<string, string> }) {
  return createElement(entry.loaded ?? entry.Lazy, params);
}

const P = {
  Experiments: page(() => import('./pages/runs'), 'ExperimentsPage'),
  Runs: page(() => import('./pages/runs'), 'RunsPage'),
  Run: page(() => import('./pages/run'), 'RunPage'),
  Compare: page(() => import('./pages/compare'), 'ComparePage'),
  Models: page(() => import('./pages/models'), 'ModelsPage'),
  Model: page(() => import('./pages/models'), 'ModelPage'),
  ModelVersion: page(() => import('./pages/models'), 'ModelVersionPage'),
  Promotions: page(() => import('./pages/promotions'), 'PromotionsPage'),
  Promotion: page(() => import('./pages/promotions'), 'PromotionPage'),
  Datasets: page(() => import('./pages/datasets'), 'DatasetsPage'),
  Dataset: page(() => import('./pages/datasets'), 'DatasetPage'),
  DatasetVersion: page(() => import('./pages/datasets'), 'DatasetVersionPage'),
  Deployments: page(() => import('./pages/deployments'), 'DeploymentsPage'),
  Deployment: page(() => import('./pages/deployments'), 'DeploymentPage'),
  Predictions: page(() => import('./pages/deployments'), 'PredictionsPage'),
  Prediction: page(() => import('./pages/prediction'), 'PredictionPage'),
  Lineage: page(() => import('./pages/lineage'), 'LineagePage'),
  Monitoring: page(() => import('./pages/monitoring'), 'MonitoringPage'),
  Pipelines: page(() => import('./pages/pipelines'), 'PipelinesPage'),
  PipelineRun: page(() => import('./pages/pipelines'), 'PipelineRunPage'),
  Cost: page(() => import('./pages/cost'), 'CostPage'),
  Audit: page(() => import('./pages/audit'), 'AuditPage'),
  SignIn: page(() => import('./pages/signin'), 'SignInPage'),
};

const ROUTES: [string, PageEntry][] = [
  ['/experiments', P.Experiments],
  ['/experiments/:experimentId', P.Runs],
  ['/runs/:runId', P.Run],
  ['/compare', P.Compare],
  ['/models', P.Models],
  ['/models/:name', P.Model],
  ['/models/:name/versions/:version', P.ModelVersion],
  ['/promotions', P.Promotions],
  ['/promotions/:id', P.Promotion],
  ['/datasets', P.Datasets],
  ['/datasets/:name', P.Dataset],
  ['/datasets/:name/versions/:number', P.DatasetVersion],
  ['/deployments', P.Deployments],
  ['/deployments/:name', P.Deployment],
  ['/deployments/:name/monitoring', P.Monitoring],
  ['/predictions', P.Predictions],
  ['/predictions/:id', P.Prediction],
  ['/lineage', P.Lineage],
  ['/pipelines', P.Pipelines],
  ['/pipelines/runs/:id', P.PipelineRun],
  ['/cost', P.Cost],
  ['/audit', P.Audit],
];

/** Starts loading the page a path needs while the session is being checked. */
function preload(path: string): void {
  for (const [pattern, Page] of ROUTES) if (match(pattern, path)) void Page.preload().catch(() => undefined);
}
preload(window.location.pathname);

function Routed({ path }: { path: string }) {
  if (path === '/' || path === '') return <PageView entry={P.Experiments} params={{}} />;
  for (const [pattern, Page] of ROUTES) {
    const params = match(pattern, path);
    if (params) return <PageView key={path} entry={Page} params={params} />;
  }
  return (
    <section>
      <h1>Not found</h1>
      <p className="empty">Nothing lives at {path}.</p>
    </section>
  );
}

function Nav({ principal }: { principal: Principal }) {
  const { path } = useLocation();
  const canApprove = useCan('approve');
  const isAdmin = useCan('admin');
  const items: [string, string, boolean][] = [
    ['/experiments', 'Runs', true],
    ['/models', 'Models', true],
    ['/promotions', 'Approvals', canApprove],
    ['/datasets', 'Datasets', true],
    ['/deployments', 'Deployments', true],
    ['/predictions', 'Predictions', true],
    ['/pipelines', 'Pipelines', true],
    ['/cost', 'Cost', true],
    ['/lineage', 'Lineage', true],
    ['/audit', 'Audit', isAdmin],
  ];
  const first = `/${path.split('/')[1] ?? ''}`;
  const current = ['/', '/runs', '/compare'].includes(first) ? '/experiments' : first;
  return (
    <header className="top">
      <Link to="/experiments" className="brand">
        Sextant
      </Link>
      <nav aria-label="main">
        {items
          .filter(([, , shown]) => shown)
          .map(([to, label]) => (
            <Link key={to} to={to} aria-current={current === to ? 'page' : undefined}>
              {label}
            </Link>
          ))}
      </nav>
      <span className="who" data-testid="who">
        {principal.name} <span className="muted">({principal.role})</span>
        {currentToken() ? (
          <button
            type="button"
            className="link"
            onClick={() => {
              setToken(undefined);
              window.location.assign('/signin');
            }}
          >
            Sign out
          </button>
        ) : null}
      </span>
    </header>
  );
}

function Frame({ children }: { children: ReactNode }) {
  return (
    <main id="main">
      <Suspense fallback={<Loading />}>{children}</Suspense>
    </main>
  );
}

/** The shell: who is signed in, the navigation, and the page the path names. */
export function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<{ principal?: Principal; error?: Error }>({});
  const signingIn = path === '/signin' || path.startsWith('/signin/');
  useEffect(() => {
    if (signingIn) return;
    api()
      .me()
      .then(
        (principal) => setSession({ principal }),
        (error: Error) => setSession({ error }),
      );
  }, [signingIn]);

  if (signingIn)
    return (
      <Frame>
        <PageView entry={P.SignIn} params={{}} />
      </Frame>
    );
  if (session.error)
    return (
      <Frame>
        <ErrorBox error={session.error} title="Cannot reach the Sextant API" />
      </Frame>
    );
  if (!session.principal) return <Loading what="Sextant" />;
  return (
    <SessionContext.Provider value={session.principal}>
      <Nav principal={session.principal} />
      <Frame>
        <Routed path={path} />
      </Frame>
    </SessionContext.Provider>
  );
}
