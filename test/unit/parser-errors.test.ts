// Which answer a request refused by Node's HTTP parser gets: a French page for a browser,
// JSON for a program, decided from the bytes the parser had.
import { describe, expect, it } from 'vitest';
import { parserErrorResponse, wantsPage } from '../../src/http/parser-errors.js';

describe('wantsPage', () => {
  it('follows the Accept header when the parser saw it', () => {
    expect(wantsPage('GET /auth?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/html,*/*\r\n')).toBe(true);
    expect(wantsPage('GET /auth?x=1 HTTP/1.1\r\nHost: a\r\naccept: application/json\r\n')).toBe(false);
  });
  it('without Accept: a page for browser paths, JSON for protocol and API paths', () => {
    expect(wantsPage('GET /auth?client_id=' + 'x'.repeat(100))).toBe(true);
    expect(wantsPage('GET /compte/identite HTTP/1.1\r\n')).toBe(true);
    expect(wantsPage('GET http://glc.example/auth?x HTTP/1.1\r\n')).toBe(true);
    for (const path of ['/api/v1/deleted-accounts?limit=1', '/me', '/token', '/jwks', '/.well-known/openid-configuration', '/readyz'])
      expect(wantsPage(`GET ${path} HTTP/1.1\r\n`)).toBe(false);
    expect(wantsPage('GET http://glc.example/me HTTP/1.1\r\n')).toBe(false);
  });
  it('JSON for anything but GET and HEAD, and for bytes that are not HTTP', () => {
    expect(wantsPage('POST /login HTTP/1.1\r\nAccept: text/html\r\n')).toBe(false);
    expect(wantsPage('\u0016\u0003\u0001 tls hello')).toBe(false);
    expect(wantsPage('')).toBe(false);
  });
});

describe('parserErrorResponse', () => {
  it('is a complete HTTP answer that closes the connection, without a body for HEAD', () => {
    const json = parserErrorResponse(431, false, false);
    const [head, body] = json.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(head).toContain('Connection: close');
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body!)}`);
    expect(JSON.parse(body!)).toEqual({ error: 'invalid_request', error_description: 'Adresse trop longue.' });
    expect(parserErrorResponse(400, true, true).endsWith('\r\n\r\n')).toBe(true);
    expect(parserErrorResponse(408, true, false)).toContain('<html lang="fr">');
  });
});
