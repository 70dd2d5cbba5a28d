import { ValidationError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import { findRuns } from './run.repo.js';
import type { RunService } from './run.service.js';
import type { RunDataJson } from './run-data-json.repo.js';
import { parseRunFilter, parseRunOrderBy } from './run-filter.js';
import { type SearchRunsPage, searchRuns } from './run-search.repo.js';
import { type RunSummary, toRunsWithDataJson } from './run-view.js';
import type { Run, RunSearchQuery } from './tracking.schema.js';

/** Experiments one search may name (distinct ids; each is a bound parameter of the query). */
export const SEARCH_EXPERIMENT_IDS_MAX = 1000;
/** order_by terms one search may give (each may join a table; databases cap joins and sort terms). */
export const SEARCH_ORDER_BY_MAX = 10;

/** What a search takes; the MLflow facade and the native API both map onto it. */
export type SearchRunsInput = RunSearchQuery;

/** Runs per read of a page's data: bounds the memory of a 50,000-run page and lets its reply stream. */
export const SEARCH_DATA_CHUNK = 500;

/** A search page whose runs carry their params, latest metrics and tags as JSON text. */
export interface RunSearchJsonPage {
  nextPageToken?: string;
  /** The page's runs in order, SEARCH_DATA_CHUNK at a time, each chunk read when it is asked for. */
  chunks(): AsyncGenerator<{ run: RunSummary; data: RunDataJson }[]>;
}

/** MLflow's runs/search: filter grammar, order_by, view type and opaque page tokens. */
export function createRunSearch({ db, runs }: { db: Db; runs: RunService }) {
  async function pageOf(input: SearchRunsInput): Promise<SearchRunsPage> {
    // Checked before anything is parsed, so a huge list costs no more than its length.
    const distinct = [...new Set(input.experimentIds ?? ['0'])];
    if (distinct.length > SEARCH_EXPERIMENT_IDS_MAX) {
      throw new ValidationError(
        `experiment_ids: at most ${SEARCH_EXPERIMENT_IDS_MAX} experiment ids per search, got ${distinct.length}`,
        { field: 'experiment_ids', limit: SEARCH_EXPERIMENT_IDS_MAX },
      );
    }
    if ((input.orderBy?.length ?? 0) > SEARCH_ORDER_BY_MAX) {
      throw new ValidationError(
        `order_by: at most ${SEARCH_ORDER_BY_MAX} terms per search, got ${input.orderBy?.length}`,
        { field: 'order_by', limit: SEARCH_ORDER_BY_MAX },
      );
    }
    const experimentIds = distinct.map((id) => {
      if (!/^\d{1,15}$/.test(id)) {
        throw new ValidationError(`experiment_ids: '${id}' is not a valid experiment id`, {
          field: 'experiment_ids',
        });
      }
      return Number(id);
    });
    return searchRuns({
      tx: db,
      experimentIds,
      filter: parseRunFilter(input.filter ?? ''),
      orderBy: parseRunOrderBy(input.orderBy ?? []),
      runViewType: input.runViewType ?? 'ACTIVE_ONLY',
      maxResults: input.maxResults ?? 1000,
      ...(input.pageToken ? { pageToken: input.pageToken } : {}),
    });
  }

  async function search(input: SearchRunsInput): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const page = await pageOf(input);
    return {
      runs: await runs.getMany(page.runIds),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }

  /**
   * The same search, for replies of whole runs (MLflow's runs/search): the data comes as JSON text
   * written by the database, and is read a chunk at a time as the reply is written. A run deleted
   * (soft) between chunks is still listed, as it would be by a page read a moment earlier.
   */
  async function searchWithDataJson(
    input: SearchRunsInput,
    { chunk = SEARCH_DATA_CHUNK }: { chunk?: number } = {},
  ): Promise<RunSearchJsonPage> {
    const { runIds, nextPageToken } = await pageOf(input);
    async function* chunks() {
      for (let from = 0; from < runIds.length; from += chunk) {
        const ids = runIds.slice(from, from + chunk);
        const byId = new Map((await findRuns({ tx: db, ids })).map((r) => [r.id, r]));
        yield await toRunsWithDataJson(
          db,
          ids.flatMap((id) => byId.get(id) ?? []),
        );
      }
    }
    return { ...(nextPageToken ? { nextPageToken } : {}), chunks };
  }

  return { search, searchWithDataJson };
}

export type RunSearch = ReturnType<typeof createRunSearch>;
