import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { RunDataJson, RunSearchJsonPage, RunSummary } from '../../../tracking/index.js';
import { mlflowRunInfo, mlflowRunInputs } from './wire.js';

/*
 * runs/search replies carry whole runs, often by the thousand (MLflow issue 2730: 30,000 runs with
 * 300 values each). Each run is written once, as text, from its info and the JSON text the database
 * wrote for its params, latest metrics and tags: no object per value, no second pass from one shape
 * to another, and a chunk of runs is on its way to the client before the next is read. The bytes are
 * MLflow's SearchRuns.Response, fields in the order runs/get and the earlier reply used.
 */

/** One run in MLflow's shape: info, data (metrics, params, tags) and inputs. */
function runJson(run: RunSummary, data: RunDataJson): string {
  return (
    `{"info":${JSON.stringify(mlflowRunInfo(run))},"data":{"metrics":${data.metrics},"params":${data.params},` +
    `"tags":${data.tags}},"inputs":${JSON.stringify(mlflowRunInputs(run))}}`
  );
}

/** Sends a search page as `{"runs":[...],"next_page_token":"..."}`, writing each chunk as it is read. */
export async function sendRunsSearchPage(
  reply: FastifyReply,
  page: RunSearchJsonPage,
): Promise<FastifyReply> {
  const chunks = page.chunks();
  // The first chunk is read before the reply starts, so a failure there is still an error reply.
  const first = await chunks.next();
  async function* body(): AsyncGenerator<string> {
    let sep = '';
    let chunk = first;
    yield '{"runs":[';
    while (!chunk.done) {
      let text = '';
      for (const { run, data } of chunk.value) {
        text += sep + runJson(run, data);
        sep = ',';
      }
      yield text;
      chunk = await chunks.next();
    }
    yield page.nextPageToken ? `],"next_page_token":${JSON.stringify(page.nextPageToken)}}` : ']}';
  }
  return reply.type('application/json; charset=utf-8').send(Readable.from(body()));
}
