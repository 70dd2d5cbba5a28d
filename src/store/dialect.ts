/** The two SQL backends. */
export type Dialect = 'sqlite' | 'postgres';
