import type { AuditLog } from '../../audit/index.js';
import { type Clock, toIso } from '../../core/clock.js';
import { NotFoundError } from '../../core/errors.js';
import { type Db, inTransaction } from '../../store/index.js';
import { type ParsedPriceBook, parsePriceBookYaml, validatePriceBook } from './price-book.js';
import * as repo from './price-book.repo.js';
import type { PriceBook, SetPriceBookBody } from './price-book.schema.js';

export interface PriceBookDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
}

function toBook(row: repo.PriceBookRow): PriceBook {
  const doc = JSON.parse(row.document) as ParsedPriceBook;
  return {
    version: row.version,
    currency: row.currency,
    prices: doc.prices,
    createdAt: toIso(row.created_at),
    createdBy: row.created_by,
  };
}

/** The versioned price book: each set validates and stores a new version, audited; the newest is in force. */
export function createPriceBookService({ db, audit, clock }: PriceBookDeps) {
  return {
    async set({ actor, ...body }: { actor: string } & SetPriceBookBody): Promise<PriceBook> {
      const parsed = 'yaml' in body ? parsePriceBookYaml(body.yaml) : validatePriceBook(body.document);
      const now = clock.now();
      const row = await inTransaction(db, async (tx) => {
        // The version number is taken inside the writing transaction; a concurrent set that picks the
        // same number fails on the primary key instead of overwriting.
        const last = await repo.findPriceBook({ tx });
        const row: repo.PriceBookRow = {
          version: (last?.version ?? 0) + 1,
          currency: parsed.currency,
          document: JSON.stringify(parsed),
          created_by: actor,
          created_at: now,
        };
        await repo.insertPriceBook({ tx, row });
        await audit.append(tx, {
          actor,
          action: 'cost.prices.set',
          entityType: 'price_book',
          entityId: String(row.version),
          before: last ? JSON.parse(last.document) : null,
          after: parsed,
          details: { version: row.version, currency: parsed.currency, prices: parsed.prices.length },
        });
        return row;
      });
      return toBook(row);
    },
    /** The version in force (the newest), or a given one; NotFoundError when none was ever set. */
    async get(version?: number): Promise<PriceBook> {
      const row = await repo.findPriceBook({ tx: db, ...(version !== undefined ? { version } : {}) });
      // 'price book' 'latest' does not exist: none was ever set (sextant cost prices set -f prices.yaml).
      if (!row) throw new NotFoundError('price book', version === undefined ? 'latest' : `v${version}`);
      return toBook(row);
    },
    /** The version in force as a lookup input, or undefined when none was set (everything prices at 0). */
    async current(): Promise<{ book: ParsedPriceBook; version: number } | undefined> {
      const row = await repo.findPriceBook({ tx: db });
      return row ? { book: JSON.parse(row.document) as ParsedPriceBook, version: row.version } : undefined;
    },
    async versions() {
      return (await repo.listPriceBooks({ tx: db })).map((r) => ({
        version: r.version,
        currency: r.currency,
        createdAt: toIso(r.created_at),
        createdBy: r.created_by,
      }));
    },
  };
}

export type PriceBookService = ReturnType<typeof createPriceBookService>;
