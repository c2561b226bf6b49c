// The load generator's HTTP client: node:http on kept-alive connections. fetch (undici) spent
// ≈ 0.3 ms of CPU per request against ≈ 0.05 ms for this, on the cores the servers being measured
// share with it: a lighter generator leaves them more of the machine.
import http from 'node:http';
import type { Exchange, Send } from '../test/support/browser.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export const viaNodeHttp: Send = (url, init) =>
  new Promise<Exchange>((resolve, reject) => {
    const headers: Record<string, string> = Object.fromEntries(init.headers.entries());
    const body = init.body === undefined || init.body === null ? undefined : String(init.body as string | URLSearchParams);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = http.request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
      let html = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (html += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: {
            get: (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
            },
          },
          setCookies: res.headers['set-cookie'] ?? [],
          html,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
