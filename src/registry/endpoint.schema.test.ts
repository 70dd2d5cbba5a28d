import { describe, expect, it } from 'vitest';
import { endpointResilienceSchema, registerEndpointBodySchema } from './endpoint.schema.js';

const body = (url: string) => ({
  url,
  protocol: 'mlflow',
  features: [{ name: 'x', type: 'float' }],
  task: 'classification',
});

describe('an endpoint URL the server will call', () => {
  it('takes a plain http(s) URL with a path and ordinary query parameters', () => {
    expect(registerEndpointBodySchema.safeParse(body('http://scorer:5002/base?version=3')).success).toBe(
      true,
    );
  });

  it.each([
    ['a fragment that would drop the protocol path', 'http://10.0.0.1/latest/meta-data#'],
    ['user:password@', 'http://bob:hunter2@scorer:5002'],
    ['a token in the query', 'https://scorer/?api_token=abc'],
    ['a key in the query', 'https://scorer/?key=abc'],
    ['a signature in the query', 'https://scorer/?X-Amz-Signature=abc'],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses %s, naming url', (_why, url) => {
    const r = registerEndpointBodySchema.safeParse(body(url));
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['url']);
  });

  it('bounds the first backoff at 5 s', () => {
    expect(endpointResilienceSchema.safeParse({ backoffMs: 5_000 }).success).toBe(true);
    expect(endpointResilienceSchema.safeParse({ backoffMs: 60_000 }).success).toBe(false);
  });
});
