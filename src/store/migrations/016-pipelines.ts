import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of pipelines: versions by digest, runs, steps, log chunks and the step cache. */
export function pipelinesMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('pipelines')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // Two registrations racing for the next version: one wins, the other re-reads.
        .addUniqueConstraint('pipelines_name_version', ['name', 'version'])
        .addUniqueConstraint('pipelines_name_digest', ['name', 'digest'])
        .execute();
      await db.schema
        .createTable('pipeline_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pipeline_id', 'text', (c) => c.notNull().references('pipelines.id'))
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('trigger_kind', 'text', (c) => c.notNull())
        .addColumn('trigger_key', 'text', (c) => c.notNull())
        .addColumn('trigger_id', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('force', 'integer', (c) => c.notNull())
        .addColumn('tracking_run_id', 'text')
        .addColumn('failed_step', 'text')
        .addColumn('error', 'text')
        .addColumn('workdir', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      // The triggers' concurrency policy asks: which runs of this pipeline are not finished?
      await db.schema
        .createIndex('pipeline_runs_pipeline_status')
        .on('pipeline_runs')
        .columns(['pipeline', 'status'])
        .execute();
      await db.schema
        .createTable('pipeline_steps')
        .addColumn('run_id', 'text', (c) => c.notNull().references('pipeline_runs.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('deps', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('cache_key', 'text')
        .addColumn('outputs', 'text')
        .addColumn('committed_attempt', 'integer')
        .addColumn('exit_code', 'integer')
        .addColumn('log_tail', 'text')
        .addColumn('error', 'text')
        .addColumn('tracking_run_id', 'text')
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addPrimaryKeyConstraint('pipeline_steps_pk', ['run_id', 'name'])
        .execute();
      await db.schema
        .createTable('pipeline_step_logs')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('chunk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pipeline_step_logs_pk', ['run_id', 'step', 'attempt', 'seq'])
        .execute();
      await db.schema
        .createTable('pipeline_step_cache')
        .addColumn('cache_key', 'text', (c) => c.primaryKey())
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['pipeline_step_cache', 'pipeline_step_logs', 'pipeline_steps', 'pipeline_runs', 'pipelines'])
        await db.schema.dropTable(t).execute();
    },
  };
}
