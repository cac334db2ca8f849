import { parsePrefer } from '../src';

describe('the Prefer header of an import (RFC 7240)', () => {
  it.each([
    [undefined, { respondAsync: false, waitSeconds: undefined }],
    ['respond-async', { respondAsync: true, waitSeconds: undefined }],
    ['Respond-Async, wait=5', { respondAsync: true, waitSeconds: 5 }],
    ['wait="2"; x=1, handling=lenient', { respondAsync: false, waitSeconds: 2 }],
    ['wait=soon', { respondAsync: false, waitSeconds: undefined }],
    ['wait=-3', { respondAsync: false, waitSeconds: undefined }],
  ])('%s → %o', (header, expected) => {
    expect(parsePrefer(header)).toEqual(expected);
  });
});
