import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  close: () => Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1 and a random port. `handler` gets the 1-based number of
 * the request, so a test can script a sequence (503, then 200; cut, then 206…).
 */
export async function startHttpServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    try {
      handler(req, res, requests.length);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
