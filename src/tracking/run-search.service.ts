import { ValidationError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import type { RunService } from './run.service.js';
import { parseRunFilter, parseRunOrderBy } from './run-filter.js';
import { searchRuns } from './run-search.repo.js';
import type { Run, RunSearchQuery } from './tracking.schema.js';

/** Experiments one search may name (distinct ids; each is a bound parameter of the query). */
export const SEARCH_EXPERIMENT_IDS_MAX = 1000;
/** order_by terms one search may give (each may join a table; databases cap joins and sort terms). */
export const SEARCH_ORDER_BY_MAX = 10;

/** What a search takes; the MLflow facade and the native API both map onto it. */
export type SearchRunsInput = RunSearchQuery;

/** MLflow's runs/search: filter grammar, order_by, view type and opaque page tokens. */
export function createRunSearch({ db, runs }: { db: Db; runs: RunService }) {
  async function search(input: SearchRunsInput): Promise<{ runs: Run[]; nextPageToken?: string }> {
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
    const page = await searchRuns({
      tx: db,
      experimentIds,
      filter: parseRunFilter(input.filter ?? ''),
      orderBy: parseRunOrderBy(input.orderBy ?? []),
      runViewType: input.runViewType ?? 'ACTIVE_ONLY',
      maxResults: input.maxResults ?? 1000,
      ...(input.pageToken ? { pageToken: input.pageToken } : {}),
    });
    return {
      runs: await runs.getMany(page.runIds),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    };
  }
  return { search };
}

export type RunSearch = ReturnType<typeof createRunSearch>;
