import { parseHead } from '../../src/server/pack-lane';

/**
 * The lane's request-head parser (src/server/pack-lane.ts): a head it answers must be one
 * node:http reads the same way; anything it has a doubt about is null (node:http reads it).
 */
describe('parseHead: the request heads the lane answers, and those it leaves to node:http', () => {
  test('a plain GET or HEAD of HTTP/1.1: method, URL and the headers a pack download reads', () => {
    expect(
      parseHead(
        [
          'GET /communes/35238/pack.zip?x=1 HTTP/1.1',
          'Host: localhost:3000',
          'Origin:  https://example.org ',
          'If-None-Match: "abc"',
          'range: bytes=0-9',
          'If-Range: "abc"',
          'X-Forwarded-For: 203.0.113.1',
          'Connection: Keep-Alive',
          'Accept-Encoding: gzip',
        ].join('\r\n'),
      ),
    ).toEqual({
      method: 'GET',
      url: '/communes/35238/pack.zip?x=1',
      origin: 'https://example.org',
      ifNoneMatch: '"abc"',
      range: 'bytes=0-9',
      ifRange: '"abc"',
      forwardedFor: '203.0.113.1',
    });
    expect(parseHead('HEAD /communes/35238/pack.zip HTTP/1.1\r\nHost: a')).toMatchObject({ method: 'HEAD', origin: undefined });
    // Only spaces and tabs are white space around a value, as node:http reads it: a no-break space (latin1 0xA0) stays.
    expect(parseHead('GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match:\t"abc"\u00a0 \r\nRange: \t bytes=0-1\t')).toMatchObject({
      ifNoneMatch: '"abc"\u00a0',
      range: 'bytes=0-1',
    });
  });

  test.each([
    ['another method', 'POST /communes/35238/pack.zip HTTP/1.1\r\nHost: a'],
    ['HTTP/1.0', 'GET /communes/35238/pack.zip HTTP/1.0\r\nHost: a'],
    ['no Host', 'GET /communes/35238/pack.zip HTTP/1.1'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b'],
    ['a body (Content-Length)', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5'],
    ['a body (Transfer-Encoding)', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked'],
    ['Expect', 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue'],
    ['Upgrade', 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket'],
    ['Connection: close', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close'],
    ['a repeated Range', 'GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3'],
    ['a repeated Origin', 'GET / HTTP/1.1\r\nHost: a\r\nOrigin: x\r\norigin: y'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c'],
    ['a lone LF', 'GET / HTTP/1.1\r\nHost: a\nX-A: b'],
    ['a header name with a space', 'GET / HTTP/1.1\r\nHost: a\r\nX A: b'],
    ['no colon', 'GET / HTTP/1.1\r\nHost: a\r\nX-A'],
    ['a control character in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u0001'],
    ['a form feed at the end of a value (not white space to HTTP)', 'GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: "abc"\f'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: a'],
    ['an absolute target', 'GET http://a/communes/35238/pack.zip HTTP/1.1\r\nHost: a'],
  ])('%s: null', (_what, head) => {
    expect(parseHead(head)).toBeNull();
  });
});
