import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses input at an edge; the first problem becomes a ValidationError naming its field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.') || 'input';
  throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, { field });
}
