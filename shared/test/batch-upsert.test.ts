import { matchIdentity, matchKeyOf, RowBatcher } from '../src/db/batch-upsert';

describe('RowBatcher', () => {
  const byKey = (row: { key?: string }) => row.key;

  it('when a record repeats, then the batch before it is handed out first, so the later line sees the earlier one written', () => {
    const rows = [{ key: 'a' }, { key: 'b' }, {}, { key: 'a' }, { key: 'c' }];
    expect(RowBatcher.split(rows, 10, byKey)).toEqual([
      [{ key: 'a' }, { key: 'b' }, {}],
      [{ key: 'a' }, { key: 'c' }],
    ]);
  });

  it('when rows cannot be matched, then they never split a batch; a full batch is handed out at its size', () => {
    const rows = Array.from({ length: 5 }, () => ({}));
    expect(RowBatcher.split(rows, 2, byKey).map((batch) => batch.length)).toEqual([2, 2, 1]);
  });

  it('when rows come one by one, then add hands out each full batch and take the rest', () => {
    const batcher = new RowBatcher<{ key?: string }>(2, byKey);
    expect(batcher.add({ key: 'x' })).toBeUndefined();
    expect(batcher.add({ key: 'y' })).toEqual([{ key: 'x' }, { key: 'y' }]);
    expect(batcher.add({ key: 'x' })).toBeUndefined();
    expect(batcher.take()).toEqual([{ key: 'x' }]);
    expect(batcher.take()).toEqual([]);
  });
});

describe('match keys', () => {
  it('when a row has an external id it matches on it, else on the email (case-insensitive), else it is new', () => {
    expect(matchKeyOf({ externalId: 'e1', email: 'A@x.io' })).toBe('externalId');
    expect(matchIdentity({ externalId: 'e1', email: 'A@x.io' })).toBe('x:e1');
    expect(matchKeyOf({ externalId: null, email: 'A@x.io' })).toBe('email');
    expect(matchIdentity({ externalId: null, email: 'A@x.io' })).toBe('e:a@x.io');
    expect(matchKeyOf({ externalId: null, email: null })).toBe('none');
    expect(matchIdentity({ externalId: null, email: null })).toBeUndefined();
  });
});
