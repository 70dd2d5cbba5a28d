import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Schema of the data domain: datasets, immutable versions (manifests), their tables, parents and tags. */
export function dataMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('datasets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      await db.schema
        .createTable('dataset_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id'))
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('source', 'text')
        .addColumn('description', 'text')
        .addColumn('owner', 'text')
        .addColumn('license', 'text')
        .addColumn('pii', 'integer', (c) => c.notNull())
        .addColumn('produced_by_run_id', 'text')
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('total_size', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        // Two concurrent adds cannot take the same number, nor store the same content twice.
        .addUniqueConstraint('dataset_versions_number', ['dataset_id', 'number'])
        .addUniqueConstraint('dataset_versions_digest', ['dataset_id', 'digest'])
        .execute();
      await db.schema
        .createIndex('dataset_versions_digest_any')
        .on('dataset_versions')
        .column('digest')
        .execute();
      await db.schema
        .createIndex('dataset_versions_run')
        .on('dataset_versions')
        .column('produced_by_run_id')
        .execute();
      await db.schema
        .createTable('dataset_version_files')
        .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.id'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_version_files_pk', ['version_id', 'path'])
        .execute();
      // gc asks "does any version reference this blob?".
      await db.schema
        .createIndex('dataset_version_files_sha256')
        .on('dataset_version_files')
        .column('sha256')
        .execute();
      await db.schema
        .createTable('dataset_version_tables')
        .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.id'))
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('row_count', 'bigint', (c) => c.notNull())
        .addColumn('schema', 'text', (c) => c.notNull())
        .addColumn('profile', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_version_tables_pk', ['version_id', 'path'])
        .execute();
      await db.schema
        .createTable('dataset_version_parents')
        .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.id'))
        .addColumn('parent_id', 'text', (c) => c.notNull().references('dataset_versions.id'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_version_parents_pk', ['version_id', 'parent_id'])
        .execute();
      await db.schema
        .createIndex('dataset_version_parents_parent')
        .on('dataset_version_parents')
        .column('parent_id')
        .execute();
      await db.schema
        .createTable('dataset_tags')
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id'))
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.id'))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_tags_pk', ['dataset_id', 'tag'])
        .execute();
    },
  };
}
