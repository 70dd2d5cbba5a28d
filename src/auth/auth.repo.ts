import { AlreadyExistsError } from '../core/errors.js';
import {
  type ApiTokenTable,
  type Db,
  type Executor,
  isUniqueViolation,
  type UserTable,
} from '../store/index.js';

/** A token row without its hash: the hash is looked up by, never read back out. */
export type TokenRow = Omit<ApiTokenTable, 'token_hash'>;

/** A token joined with its owner, as authentication needs it in one query. */
export interface TokenOwnerRow {
  id: string;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  user_id: string;
  user_name: string;
  user_role: string;
  user_disabled_at: number | null;
  minted_under: string;
}

const tokenColumns = [
  'id',
  'user_id',
  'name',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
  'minted_under',
] as const satisfies readonly (keyof TokenRow)[];

/** Queries on users and api_tokens; each takes an optional `tx` so callers can compose one transaction. */
export function createAuthRepo(db: Db) {
  return {
    async insertUser({ tx = db, user }: { tx?: Executor; user: UserTable }): Promise<void> {
      try {
        await tx.insertInto('users').values(user).execute();
      } catch (err) {
        // A concurrent insert of the same name can win between our check and this insert.
        if (isUniqueViolation(err)) throw new AlreadyExistsError('user', user.name);
        throw err;
      }
    },

    /** Inserts unless a user with that id or name exists; true when this call created it. */
    async insertUserIfAbsent({ tx = db, user }: { tx?: Executor; user: UserTable }): Promise<boolean> {
      const inserted = await tx
        .insertInto('users')
        .values(user)
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      return inserted !== undefined;
    },

    findUserById({ tx = db, id }: { tx?: Executor; id: string }): Promise<UserTable | undefined> {
      return tx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },

    findUserByName({ tx = db, name }: { tx?: Executor; name: string }): Promise<UserTable | undefined> {
      return tx.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    },

    /** By id first: a name may look like an id, but ids are unique and never change. */
    async findUserByIdOrName({
      tx = db,
      idOrName,
    }: {
      tx?: Executor;
      idOrName: string;
    }): Promise<UserTable | undefined> {
      return (
        (await tx.selectFrom('users').selectAll().where('id', '=', idOrName).executeTakeFirst()) ??
        (await tx.selectFrom('users').selectAll().where('name', '=', idOrName).executeTakeFirst())
      );
    },

    listUsers({ tx = db }: { tx?: Executor } = {}): Promise<UserTable[]> {
      return tx.selectFrom('users').selectAll().orderBy('name').execute();
    },

    /** Any admin, disabled or not, other than the given ids. */
    async hasAdmin({ tx = db, except }: { tx?: Executor; except: string[] }): Promise<boolean> {
      let q = tx.selectFrom('users').select('id').where('role', '=', 'admin');
      if (except.length > 0) q = q.where('id', 'not in', except);
      return (await q.limit(1).executeTakeFirst()) !== undefined;
    },

    async updateUser({
      tx = db,
      id,
      set,
    }: {
      tx?: Executor;
      id: string;
      set: Partial<Pick<UserTable, 'role' | 'disabled_at'>>;
    }): Promise<void> {
      await tx.updateTable('users').set(set).where('id', '=', id).execute();
    },

    async insertToken({ tx = db, token }: { tx?: Executor; token: ApiTokenTable }): Promise<void> {
      await tx.insertInto('api_tokens').values(token).execute();
    },

    findToken({ tx = db, id }: { tx?: Executor; id: string }): Promise<TokenRow | undefined> {
      return tx.selectFrom('api_tokens').select(tokenColumns).where('id', '=', id).executeTakeFirst();
    },

    /** The whole row, hash included: only for the audit entry that records it. */
    findTokenRow({ tx = db, id }: { tx?: Executor; id: string }): Promise<ApiTokenTable | undefined> {
      return tx.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    },

    listTokens({ tx = db, userId }: { tx?: Executor; userId?: string }): Promise<TokenRow[]> {
      let q = tx.selectFrom('api_tokens').select(tokenColumns);
      if (userId !== undefined) q = q.where('user_id', '=', userId);
      return q.orderBy('created_at').orderBy('id').execute();
    },

    findTokenOwnerByHash({
      tx = db,
      tokenHash,
    }: {
      tx?: Executor;
      tokenHash: string;
    }): Promise<TokenOwnerRow | undefined> {
      return tx
        .selectFrom('api_tokens as t')
        .innerJoin('users as u', 'u.id', 't.user_id')
        .select([
          't.id',
          't.expires_at',
          't.last_used_at',
          't.revoked_at',
          't.minted_under',
          'u.id as user_id',
          'u.name as user_name',
          'u.role as user_role',
          'u.disabled_at as user_disabled_at',
        ])
        .where('t.token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    async revokeToken({ tx = db, id, at }: { tx?: Executor; id: string; at: number }): Promise<void> {
      await tx.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).execute();
    },

    /** Records use unless it was recorded since `staleBefore`; the condition keeps racing requests to one write. */
    async touchToken({
      tx = db,
      id,
      at,
      staleBefore,
    }: {
      tx?: Executor;
      id: string;
      at: number;
      staleBefore: number;
    }) {
      await tx
        .updateTable('api_tokens')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', staleBefore)]))
        .execute();
    },
  };
}

export type AuthRepo = ReturnType<typeof createAuthRepo>;
