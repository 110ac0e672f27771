// A small HTTP browser for login tests: real requests (undici), a cookie jar per host, manual
// or followed redirects, and a host map, so that a sidecar whose publicUrl is
// "http://app.test" can be reached on its real 127.0.0.1 port (the map plays the load
// balancer: one public origin, any replica behind it).
import { request } from 'undici';

export interface Page {
  readonly url: string;
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The Location header resolved against the page's URL, for redirects. */
  readonly location: string | undefined;
  readonly setCookies: string[];
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
  body?: string;
}

export class TestBrowser {
  /** host → "name path" → cookie (a name may have one cookie per path, as in browsers) */
  readonly jar = new Map<string, Map<string, Cookie>>();
  /** public host (e.g. "app.test") → real origin it is served from */
  readonly hosts: Map<string, string>;

  constructor(hosts: Record<string, string> = {}) {
    this.hosts = new Map(Object.entries(hosts));
  }

  /** One request, no redirects followed. Sends and stores cookies. */
  async fetch(url: string, options: RequestOptions = {}): Promise<Page> {
    const target = new URL(url);
    const real = this.hosts.get(target.host);
    const address = real ? new URL(target.pathname + target.search, real) : target;
    const headers: Record<string, string> = { host: target.host, accept: 'text/html', ...options.headers };
    const cookie = this.cookieHeader(target);
    if (cookie && headers.cookie === undefined) headers.cookie = cookie;
    let body = options.body;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await request(address, { method: (options.method ?? 'GET') as 'GET', headers, body });
    const text = await response.body.text();
    const raw = response.headers['set-cookie'];
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    for (const line of setCookies) this.store(target.host, line);
    const location = response.headers.location;
    return {
      url,
      status: response.statusCode,
      headers: response.headers,
      body: text,
      location: typeof location === 'string' ? new URL(location, url).href : undefined,
      setCookies,
    };
  }

  /** Follows redirects (GET) until a page that is not one; returns every hop, last is the page. */
  async navigate(url: string, options: RequestOptions = {}, maxHops = 10): Promise<Page[]> {
    const hops: Page[] = [];
    let page = await this.fetch(url, options);
    hops.push(page);
    while (page.location !== undefined && page.status >= 300 && page.status < 400) {
      if (hops.length > maxHops) throw new Error(`more than ${maxHops} redirects from ${url}`);
      page = await this.fetch(page.location, { headers: options.headers ?? {} });
      hops.push(page);
    }
    return hops;
  }

  /** The value of the cookie `name` (path "/"). */
  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(`${name} /`)?.value;
  }

  setCookie(host: string, name: string, value: string): void {
    this.cookiesOf(host).set(`${name} /`, { name, value, path: '/' });
  }

  private cookiesOf(host: string): Map<string, Cookie> {
    const cookies = this.jar.get(host) ?? new Map<string, Cookie>();
    this.jar.set(host, cookies);
    return cookies;
  }

  private cookieHeader(url: URL): string | undefined {
    const cookies = this.jar.get(url.host);
    if (!cookies) return undefined;
    const pairs = [...cookies.values()]
      .filter((c) => url.pathname.startsWith(c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`);
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  private store(host: string, line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    let path = '/';
    let expired = false;
    for (const attribute of attributes) {
      const [key = '', val = ''] = attribute.split('=');
      if (key.toLowerCase() === 'path') path = val;
      if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
    }
    const cookies = this.cookiesOf(host);
    if (expired) cookies.delete(`${name} ${path}`);
    else cookies.set(`${name} ${path}`, { name, value, path });
  }
}

/** The login form's action on the provider's page. */
export function formAction(page: Page): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(page.body);
  if (!match) throw new Error(`no form on ${page.url} (${page.status}): ${page.body.slice(0, 200)}`);
  return new URL(match[1] as string, page.url).href;
}

/** Hidden inputs of the first form (e.g. the provider's logout xsrf token). */
export function hiddenInputs(page: Page): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const match of page.body.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(match[0])?.[1];
    const value = /value="([^"]*)"/.exec(match[0])?.[1];
    if (name !== undefined) inputs[name] = value ?? '';
  }
  return inputs;
}
