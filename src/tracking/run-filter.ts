import { ValidationError } from '../core/errors.js';

/*
 * MLflow's runs/search grammar (mlflow/utils/search_utils.py, SearchUtils): clauses joined by AND,
 * each `<entity>.<key> <comparator> <value>`. MLflow tokenises with sqlparse; this is a small
 * hand-written scanner that accepts the same language and names the offending token on error.
 */

export type NumericComparator = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type StringComparator = '=' | '!=' | 'LIKE' | 'ILIKE';
export type ListComparator = 'IN' | 'NOT IN';
export type StringAttribute = 'run_id' | 'run_name' | 'user_id' | 'status' | 'artifact_uri';
export type NumericAttribute = 'start_time' | 'end_time';
export type RunAttribute = StringAttribute | NumericAttribute;

/** One AND-ed clause of a runs/search filter, with aliases resolved (params -> param, created -> start_time). */
export type RunFilterClause =
  | { kind: 'metric'; key: string; comparator: NumericComparator; value: number }
  | { kind: 'param' | 'tag'; key: string; comparator: StringComparator; value: string }
  | { kind: 'attribute'; key: StringAttribute; comparator: StringComparator; value: string }
  | { kind: 'numeric_attribute'; key: NumericAttribute; comparator: NumericComparator; value: number }
  | { kind: 'run_id_list'; comparator: ListComparator; values: string[] };

/** One order_by term; `ascending` is true unless DESC was given. */
export type RunOrderTerm =
  | { kind: 'metric' | 'param' | 'tag'; key: string; ascending: boolean }
  | { kind: 'attribute'; key: RunAttribute; ascending: boolean };

type Entity = 'metric' | 'param' | 'tag' | 'attribute';

const ENTITY_ALIASES = new Map<string, Entity>(
  Object.entries({
    metric: 'metric',
    metrics: 'metric',
    param: 'param',
    params: 'param',
    parameter: 'param',
    parameters: 'param',
    tag: 'tag',
    tags: 'tag',
    attribute: 'attribute',
    attributes: 'attribute',
    attr: 'attribute',
    run: 'attribute',
  } satisfies Record<string, Entity>),
);

// MLflow: RunInfo's searchable attributes plus _ALTERNATE_NUMERIC/STRING_ATTRIBUTES.
const FILTER_ATTRIBUTES = new Map<string, RunAttribute>(
  Object.entries({
    run_id: 'run_id',
    run_name: 'run_name',
    user_id: 'user_id',
    status: 'status',
    artifact_uri: 'artifact_uri',
    start_time: 'start_time',
    end_time: 'end_time',
    created: 'start_time',
    Created: 'start_time',
    'run name': 'run_name',
    'Run name': 'run_name',
    'Run Name': 'run_name',
  } satisfies Record<string, RunAttribute>),
);
// MLflow: VALID_ORDER_BY_ATTRIBUTE_KEYS has the numeric aliases but not the "run name" ones.
const ORDER_ATTRIBUTES = new Map([...FILTER_ATTRIBUTES].filter(([k]) => !k.includes(' ')));
const NUMERIC_ATTRIBUTES = new Set<RunAttribute>(['start_time', 'end_time']);

const NUMERIC_COMPARATORS: readonly string[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_COMPARATORS: readonly string[] = ['=', '!=', 'LIKE', 'ILIKE'];
const STRING_ATTRIBUTE_COMPARATORS: readonly string[] = [...STRING_COMPARATORS, 'IN', 'NOT IN'];

const WORD_CHAR = /[\p{L}\p{N}_$#]/u;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;

interface Identifier {
  entity: Entity;
  key: string;
  /** As written, for error messages. */
  raw: string;
}

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly field: string,
  ) {}

  fail(message: string, token = this.peekToken()): never {
    throw new ValidationError(`${this.field}: ${message}`, { field: this.field, token });
  }

  skipWs(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  atEnd(): boolean {
    this.skipWs();
    return this.pos >= this.text.length;
  }

  /** The next token as a person would see it: a quoted string, a word, or a run of symbols. */
  peekToken(): string {
    const rest = this.text.slice(this.pos).trimStart();
    if (rest === '') return '<end>';
    const quote = rest[0];
    if (quote === "'" || quote === '"' || quote === '`') {
      const close = rest.indexOf(quote, 1);
      return close < 0 ? rest : rest.slice(0, close + 1);
    }
    return /^[^\s()',]+|^./.exec(rest)?.[0] ?? rest;
  }

  /** Consumes `word` (case-insensitive) when it stands alone at the cursor. */
  takeWord(word: string): boolean {
    this.skipWs();
    const candidate = this.text.slice(this.pos, this.pos + word.length);
    const after = this.text[this.pos + word.length] ?? '';
    if (candidate.toLowerCase() !== word.toLowerCase() || WORD_CHAR.test(after)) return false;
    this.pos += word.length;
    return true;
  }

  /**
   * Reads `...`, "..." or '...'. A doubled quote stands for one quote character. A backslash and the
   * character after it are kept as written (MLflow keeps string bodies verbatim), so `\'` does not
   * end the string and LIKE patterns keep their `\%` / `\_` escapes.
   */
  readQuoted(): string {
    const quote = this.text[this.pos] ?? '';
    const start = this.pos;
    let out = '';
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const c = this.text[i] ?? '';
      const next = this.text[i + 1];
      if (c === '\\' && next !== undefined) {
        out += c + next;
        i++;
      } else if (c === quote && next === quote) {
        out += quote;
        i++;
      } else if (c === quote) {
        this.pos = i + 1;
        return out;
      } else {
        out += c;
      }
    }
    this.pos = start;
    return this.fail(`unterminated ${quote} quote`, this.text.slice(start));
  }

  readWord(extra = ''): string {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] ?? '';
      if (!WORD_CHAR.test(c) && !extra.includes(c)) break;
      this.pos++;
    }
    return this.text.slice(start, this.pos);
  }

  /** `entity.key`, `entity.\`key\``, `entity."key"`, or a bare attribute name (MLflow reads it as attributes.<name>). */
  readIdentifier(what: string): Identifier {
    this.skipWs();
    const start = this.pos;
    const first = this.text[this.pos] ?? '';
    let head: string;
    if (first === '`' || first === '"') head = this.readQuoted();
    else head = this.readWord();
    if (head === '') this.fail(`expected ${what} such as metrics.acc but got '${this.peekToken()}'`);
    if (this.text[this.pos] !== '.') {
      return { entity: 'attribute', key: head, raw: this.text.slice(start, this.pos) };
    }
    const entity = ENTITY_ALIASES.get(head);
    if (!entity) {
      this.fail(
        `unknown entity '${head}' in '${this.text.slice(start, this.pos)}...'; use metrics., params., tags. or attributes.`,
        head,
      );
    }
    this.pos++;
    const q = this.text[this.pos] ?? '';
    const key = q === '`' || q === '"' ? this.readQuoted() : this.readWord('.');
    const raw = this.text.slice(start, this.pos);
    if (key === '') this.fail(`expected a key after '${raw}'`);
    return { entity, key, raw };
  }

  readComparator(context: string): string {
    this.skipWs();
    const symbols = /^[<>=!]+/.exec(this.text.slice(this.pos))?.[0];
    if (symbols) {
      this.pos += symbols.length;
      return symbols;
    }
    for (const word of ['LIKE', 'ILIKE', 'IN']) if (this.takeWord(word)) return word;
    const save = this.pos;
    if (this.takeWord('NOT') && this.takeWord('IN')) return 'NOT IN';
    this.pos = save;
    return this.fail(`expected a comparator after '${context}' but got '${this.peekToken()}'`);
  }

  readNumber(context: string): number {
    this.skipWs();
    const rest = this.text.slice(this.pos);
    const m = NUMBER.exec(rest)?.[0];
    const after = rest[m?.length ?? 0] ?? '';
    const value = m === undefined ? Number.NaN : Number(m);
    if (m === undefined || WORD_CHAR.test(after) || after === '.' || !Number.isFinite(value)) {
      this.fail(`expected a number after '${context}' but got '${this.peekToken()}'`);
    }
    this.pos += m.length;
    return value;
  }

  readString(context: string): string {
    this.skipWs();
    const q = this.text[this.pos];
    if (q !== "'" && q !== '"')
      this.fail(`expected a quoted string after '${context}' but got '${this.peekToken()}'`);
    return this.readQuoted();
  }

  readStringList(context: string): string[] {
    this.skipWs();
    const bad = (): never =>
      this.fail(
        `expected a non-empty list of quoted strings like ('a', 'b') after '${context}' but got '${this.peekToken()}'`,
      );
    if (this.text[this.pos] !== '(') bad();
    this.pos++;
    const values: string[] = [];
    for (;;) {
      this.skipWs();
      const q = this.text[this.pos];
      if (q !== "'" && q !== '"') bad();
      values.push(this.readQuoted());
      this.skipWs();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ')') return values;
      if (c !== ',') {
        this.pos--;
        bad();
      }
    }
  }
}

function comparatorError(s: Scanner, comparator: string, raw: string, allowed: readonly string[]): never {
  return s.fail(
    `comparator '${comparator}' is not valid for ${raw}; use one of ${allowed.join(', ')}`,
    comparator,
  );
}

function parseClause(s: Scanner): RunFilterClause {
  const id = s.readIdentifier('a key');
  const written = s.readComparator(id.raw);
  const comparator = written.toUpperCase();
  const context = `${id.raw} ${written}`;
  switch (id.entity) {
    case 'metric': {
      if (!NUMERIC_COMPARATORS.includes(comparator)) comparatorError(s, written, id.raw, NUMERIC_COMPARATORS);
      return {
        kind: 'metric',
        key: id.key,
        comparator: comparator as NumericComparator,
        value: s.readNumber(context),
      };
    }
    case 'param':
    case 'tag': {
      if (!STRING_COMPARATORS.includes(comparator)) comparatorError(s, written, id.raw, STRING_COMPARATORS);
      const value = s.readString(context);
      return { kind: id.entity, key: id.key, comparator: comparator as StringComparator, value };
    }
    case 'attribute': {
      const key = FILTER_ATTRIBUTES.get(id.key);
      if (!key) {
        const valid = [...FILTER_ATTRIBUTES.keys()].filter((k) => !/^[A-Z]|\s/.test(k));
        s.fail(
          `unknown attribute '${id.key}' in '${id.raw}'; valid attributes are ${valid.join(', ')}`,
          id.raw,
        );
      }
      if (NUMERIC_ATTRIBUTES.has(key)) {
        if (!NUMERIC_COMPARATORS.includes(comparator))
          comparatorError(s, written, id.raw, NUMERIC_COMPARATORS);
        const value = s.readNumber(context);
        return {
          kind: 'numeric_attribute',
          key: key as NumericAttribute,
          comparator: comparator as NumericComparator,
          value,
        };
      }
      if (!STRING_ATTRIBUTE_COMPARATORS.includes(comparator)) {
        comparatorError(s, written, id.raw, STRING_ATTRIBUTE_COMPARATORS);
      }
      if (comparator === 'IN' || comparator === 'NOT IN') {
        // MLflow: "Only the 'run_id' attribute supports comparison with a list of quoted string values."
        if (key !== 'run_id')
          s.fail(`only attributes.run_id can be compared with ${comparator} (got '${context}')`, written);
        return { kind: 'run_id_list', comparator, values: s.readStringList(context) };
      }
      const value = s.readString(context);
      return {
        kind: 'attribute',
        key: key as StringAttribute,
        comparator: comparator as StringComparator,
        value,
      };
    }
  }
}

/**
 * Parses a runs/search filter, e.g. `metrics.acc > 0.9 and params.lr = '0.01' and tags."my tag" LIKE 'a%'`.
 * An empty filter matches every run. Throws ValidationError (field 'filter') naming the bad token.
 */
export function parseRunFilter(filter: string): RunFilterClause[] {
  const s: Scanner = new Scanner(filter, 'filter');
  const clauses: RunFilterClause[] = [];
  if (s.atEnd()) return clauses;
  for (;;) {
    clauses.push(parseClause(s));
    if (s.atEnd()) return clauses;
    if (s.takeWord('or')) s.fail("'or' is not supported; MLflow filters join clauses with 'and' only", 'or');
    if (!s.takeWord('and')) s.fail(`expected 'and' between clauses but got '${s.peekToken()}'`);
    if (s.atEnd()) s.fail("expected a clause after 'and'");
  }
}

/**
 * Parses order_by terms such as `metrics.acc DESC`, `attributes.start_time ASC` or `params.lr` (ASC).
 * Throws ValidationError (field 'order_by') on a bad term or a key ordered twice, as MLflow does.
 */
export function parseRunOrderBy(orderBy: string[]): RunOrderTerm[] {
  const seen = new Set<string>();
  return orderBy.map((term, index) => {
    const s: Scanner = new Scanner(term, 'order_by');
    const where = ` in '${term}'`;
    const id = s.readIdentifier('a key');
    let ascending = true;
    if (s.takeWord('DESC')) ascending = false;
    else if (!s.takeWord('ASC') && !s.atEnd())
      s.fail(`expected ASC or DESC after '${id.raw}' but got '${s.peekToken()}'${where}`);
    if (!s.atEnd()) s.fail(`unexpected '${s.peekToken()}' after the direction${where}`);
    let parsed: RunOrderTerm;
    if (id.entity === 'attribute') {
      const key = ORDER_ATTRIBUTES.get(id.key);
      if (!key) {
        const valid = [...ORDER_ATTRIBUTES.keys()].filter((k) => !/^[A-Z]/.test(k));
        s.fail(`unknown attribute '${id.key}'${where}; valid attributes are ${valid.join(', ')}`, id.raw);
      }
      parsed = { kind: 'attribute', key, ascending };
    } else {
      parsed = { kind: id.entity, key: id.key, ascending };
    }
    const identity = `${parsed.kind}\u0000${parsed.key}`;
    if (seen.has(identity)) {
      throw new ValidationError(`order_by: ${parsed.kind} '${parsed.key}' is ordered by more than once`, {
        field: 'order_by',
        token: term,
        index,
      });
    }
    seen.add(identity);
    return parsed;
  });
}
