// Requests Node's HTTP parser refuses before any middleware runs: a request line or headers over
// 16 KiB, bytes that are not HTTP, a request that took too long to arrive. Node's own answer has no
// body, so a service cannot read an OAuth error and a resident sees a blank page. This answers
// like errorHandler does: JSON for services, a short French page for a browser, one log line.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { FRENCH_ERRORS } from './middleware.js';

const STATUS_BY_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

// Paths that only programs call: they get JSON even without an Accept header.
const SERVICE_PATHS = /^\/(?:api|token|me|jwks|request|reg|backchannel|device|\.well-known|metrics|healthz|readyz)(?:[/?]|$)/;

/**
 * Page or JSON, read from the bytes the parser had (the request line comes first; the Accept
 * header is there unless the overflow came before it). Without a request line: JSON.
 */
export function wantsPage(rawRequest: string): boolean {
  const line = /^(?:GET|HEAD) (\S+)/.exec(rawRequest);
  if (!line) return false;
  const accept = /\r\naccept:([^\r\n]*)/i.exec(rawRequest);
  if (accept) return accept[1]!.includes('text/html');
  let path = line[1]!;
  if (!path.startsWith('/')) path = /^[a-z]+:\/\/[^/]*(\/.*)?$/i.exec(path)?.[1] ?? '/'; // absolute form
  return !SERVICE_PATHS.test(path);
}

function page(title: string, message: string): string {
  return (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${title} – GrandLyon Connect</title></head>` +
    '<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5">' +
    `<main><h1>${title}</h1><p>${message}</p><p><a href="/">Retour à l’accueil de GrandLyon Connect</a></p></main>` +
    '</body></html>'
  );
}

/** The raw HTTP answer for a refused request (status line, headers, body; the connection closes). */
export function parserErrorResponse(status: number, asPage: boolean, head: boolean): string {
  const french = FRENCH_ERRORS[status] ?? FRENCH_ERRORS[400]!;
  const body = asPage
    ? page(french.title, french.message)
    : JSON.stringify({ error: 'invalid_request', error_description: `${french.title}.` });
  const type = asPage ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8';
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}`,
    `Content-Type: ${type}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'",
    'X-Content-Type-Options: nosniff',
    'Cache-Control: no-store',
    'Connection: close',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${head ? '' : body}`;
}

interface ParserError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

/** The server's 'clientError' listener. */
export function answerParserErrors(log: Logger) {
  return (err: ParserError, socket: Socket): void => {
    // The client went away, or an answer already started on this connection: nothing to say.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = STATUS_BY_CODE[err.code ?? ''] ?? 400;
    // The raw bytes may hold tokens or personal data: they are read here, never logged.
    const raw = err.rawPacket?.toString('latin1', 0, 64 * 1024) ?? '';
    log.info({ status, error: err.code ?? err.name }, 'request refused by the HTTP parser');
    socket.end(parserErrorResponse(status, wantsPage(raw), raw.startsWith('HEAD ')), () => socket.destroy());
  };
}
