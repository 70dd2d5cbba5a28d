import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { featureColumns, parseFeatureList, tensorFeatureNames } from './feature-columns.js';

const base = { model: 'sk@1', dataset: 'applicants@2' };

describe('featureColumns: which dataset column feeds which model feature', () => {
  it('named features are read by name, in the model order, whatever the dataset order', () => {
    expect(
      featureColumns({ ...base, features: ['b', 'a'], positional: false, columns: ['a', 'x', 'b'] }),
    ).toEqual(['b', 'a']);
  });

  it('an unnamed tensor takes the columns in order, the target left out', () => {
    expect(
      featureColumns({
        ...base,
        features: ['f0', 'f1'],
        positional: true,
        columns: ['p', 'label', 'q'],
        exclude: ['label'],
      }),
    ).toEqual(['p', 'q']);
  });

  it('a width mismatch names both widths, the model and the dataset', () => {
    const err = (() => {
      try {
        featureColumns({ ...base, features: ['f0', 'f1'], positional: true, columns: ['p', 'q', 'r'] });
      } catch (e) {
        return e as ValidationError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err!.message).toContain('sk@1 takes 2 columns at once');
    expect(err!.message).toContain('applicants@2 has 3 feature columns (p, q, r)');
    expect(err!.details).toMatchObject({ field: 'features', modelWidth: 2, datasetWidth: 3 });
  });

  it('an explicit mapping wins, and must have the model width and existing columns', () => {
    const req = { ...base, features: ['f0', 'f1'], positional: true, columns: ['p', 'q', 'r'] };
    expect(featureColumns({ ...req, explicit: ['r', 'p'] })).toEqual(['r', 'p']);
    expect(() => featureColumns({ ...req, explicit: ['r'] })).toThrow(/names 1 columns, but sk@1 takes 2/);
    expect(() => featureColumns({ ...req, explicit: ['r', 'zz'] })).toThrow(/has no column 'zz'/);
  });

  it('names missing features of a named model', () => {
    expect(() =>
      featureColumns({ ...base, features: ['a', 'b'], positional: false, columns: ['a'] }),
    ).toThrow(/applicants@2 lacks the features of sk@1: b/);
  });
});

describe('names', () => {
  it('a tensor is named by its declared names only when there are exactly as many', () => {
    expect(tensorFeatureNames(2, ['x', 'y'])).toEqual(['x', 'y']);
    expect(tensorFeatureNames(3, ['x', 'y'])).toEqual(['f0', 'f1', 'f2']);
  });

  it('--features lists refuse empty and repeated names', () => {
    expect(parseFeatureList(' a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(() => parseFeatureList('a,,b')).toThrow(ValidationError);
    expect(() => parseFeatureList('a,b,a')).toThrow(/'a' is named twice/);
  });
});
