import { ValidationError } from '../core/errors.js';
import type { Db } from '../store/index.js';
import type { RunService } from './run.service.js';
import { parseRunFilter, parseRunOrderBy } from './run-filter.js';
import { searchRuns } from './run-search.repo.js';
import type { Run, RunSearchQuery } from './tracking.schema.js';

/** What a search takes; the MLflow facade and the native API both map onto it. */
export type SearchRunsInput = RunSearchQuery;

/** MLflow's runs/search: filter grammar, order_by, view type and opaque page tokens. */
export function createRunSearch({ db, runs }: { db: Db; runs: RunService }) {
  async function search(input: SearchRunsInput): Promise<{ runs: Run[]; nextPageToken?: string }> {
    const experimentIds = (input.experimentIds ?? ['0']).map((id) => {
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
