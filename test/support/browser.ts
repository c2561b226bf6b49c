// A small cookie-keeping HTTP client that behaves like a browser without JavaScript: it
// follows redirects on demand and submits forms with their CSRF token. Real HTTP only.
export interface Page {
  status: number;
  url: string;
  html: string;
  location: string | null;
  headers: Pick<Headers, 'get'>;
}

/** One HTTP exchange, redirects not followed. */
export interface Exchange {
  status: number;
  headers: Pick<Headers, 'get'>;
  setCookies: string[];
  html: string;
}
export type Send = (url: string, init: RequestInit & { headers: Headers }) => Promise<Exchange>;

/** fetch, as a browser's tests use it. The load generator passes a lighter one (bench/node-http-send.ts). */
const viaFetch: Send = async (url, init) => {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  return { status: res.status, headers: res.headers, setCookies: res.headers.getSetCookie(), html: await res.text() };
};

export class Browser {
  private cookies = new Map<string, string>();

  constructor(
    private readonly base: string,
    private readonly send: Send = viaFetch,
  ) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  clearCookies(): void {
    this.cookies.clear();
  }

  private store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const absolute = new URL(url, this.base).href;
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    const res = await this.send(absolute, { ...init, headers });
    this.store(res.setCookies);
    return { status: res.status, url: absolute, html: res.html, location: res.headers.get('location'), headers: res.headers };
  }

  get(url: string): Promise<Page> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>): Promise<Page> {
    return this.request(url, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  /** Follows redirects while they stay on `base` origins; returns the last page (or the redirect leaving). */
  async follow(page: Page, stopAt?: (url: URL) => boolean): Promise<Page> {
    let current = page;
    for (let i = 0; i < 20 && current.location && current.status >= 300 && current.status < 400; i++) {
      const next = new URL(current.location, current.url);
      if (stopAt?.(next)) return current;
      current = await this.get(next.href);
    }
    return current;
  }

  /** Submits the form whose action matches, with its hidden fields (CSRF token…) plus `fields`. */
  async submit(page: Page, actionPattern: RegExp, fields: Record<string, string> = {}): Promise<Page> {
    const forms = [...page.html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/g)].map((m) => m[0]);
    const form = forms.find((f) => actionPattern.test(/action="([^"]*)"/.exec(f)?.[1] ?? ''));
    if (!form) throw new Error(`no form matching ${actionPattern} on ${page.url}`);
    const action = decode(/action="([^"]*)"/.exec(form)![1]!);
    const hidden: Record<string, string> = {};
    for (const m of form.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(m[0])?.[1];
      const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
      if (name) hidden[name] = decode(value);
    }
    return this.post(new URL(action, page.url).href, { ...hidden, ...fields });
  }
}

export function decode(html: string): string {
  return html
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}
