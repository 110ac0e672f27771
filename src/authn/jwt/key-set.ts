// Where a JWT's verification key comes from: a JWKS endpoint (named, or found through the
// issuer's discovery document) or a local JWKS file. jose selects the key (alg, kid, kty, use);
// this module only decides when to fetch, so that:
// - an unknown kid refetches at most once per cooldown (no refetch storm from forged kids);
// - keys once fetched keep working while the endpoint is down (jose's remote set would throw
//   once its cache is stale, turning an IdP outage into a sidecar outage);
// - keys named in the token header (jwk, jku, x5u) are never used: only the configured
//   source is ever asked.
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { ServiceUnavailableError } from '../../errors.ts';
import { failureReason } from '../../observability/failure-reason.ts';

export type KeyLookup = JWTVerifyGetKey;

export interface KeySet {
  /** Resolves the key for a token; refreshes once (cooldown permitting) on an unknown kid. */
  readonly getKey: KeyLookup;
  /** Called whenever the set of keys changes, so caches of verified tokens can be emptied. */
  onChange(listener: () => void): void;
  /** Fetches now unless a fetch ran within the cooldown; resolves whether keys are available. */
  refresh(): Promise<boolean>;
  readonly ready: boolean;
}

export interface RemoteKeySetOptions {
  /** The JWKS URL, or a function that finds it (discovery). */
  jwksUri: string | (() => Promise<string>);
  /** Minimum time between two fetches, whatever asks for them. */
  cooldownMs?: number;
  /** Keys older than this are refetched in the background; the old ones stay in use meanwhile. */
  maxAgeMs?: number;
  timeoutMs?: number;
  onFetch?: (result: 'success' | 'failure', error?: unknown) => void;
}

const MAX_JWKS_BYTES = 1 << 20;

export function isJwkSet(value: unknown): value is JSONWebKeySet {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { keys?: unknown }).keys) &&
    (value as { keys: unknown[] }).keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))
  );
}

/** Throws an Error whose message names the URL and why (the cause of a failed fetch). */
export async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
      redirect: 'error',
    });
  } catch (error) {
    throw new Error(`${url}: ${failureReason(error)}`, { cause: error });
  }
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_JWKS_BYTES) throw new Error(`${url} answered more than ${MAX_JWKS_BYTES} bytes`);
  return JSON.parse(text);
}

/** Keys fetched from a JWKS endpoint, refreshed lazily, never forgotten on a failed fetch. */
export class RemoteKeySet implements KeySet {
  private local: KeyLookup | undefined;
  private fingerprint = '';
  private fetchedAt = 0;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<boolean> | undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;
  private readonly options: RemoteKeySetOptions;

  constructor(options: RemoteKeySetOptions) {
    this.options = options;
    this.cooldownMs = options.cooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  get ready(): boolean {
    return this.local !== undefined;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  readonly getKey: KeyLookup = async (header, token) => {
    if (this.local === undefined && !(await this.refresh())) {
      throw new ServiceUnavailableError('jwks_unavailable', 'the signing keys could not be fetched', undefined, 5);
    }
    if (Date.now() - this.fetchedAt > this.maxAgeMs) void this.refresh();
    const local = this.local as KeyLookup;
    try {
      return await local(header, token);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      // An unknown kid: perhaps a rotation. Ask again, but never more than once per cooldown.
      if (!(await this.refresh()) || this.local === local) throw error;
      return (this.local as KeyLookup)(header, token);
    }
  };

  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    if (Date.now() - this.attemptedAt < this.cooldownMs) return Promise.resolve(this.local !== undefined);
    this.attemptedAt = Date.now();
    return this.fetchOnce();
  }

  /**
   * Fetches at start-up without starting the cooldown: a key rotated just after start is still
   * picked up by the first unknown kid, and the cooldown holds from that fetch on.
   */
  prefetch(): Promise<boolean> {
    return this.inflight ?? this.fetchOnce();
  }

  private fetchOnce(): Promise<boolean> {
    this.inflight = this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<boolean> {
    try {
      const uri = typeof this.options.jwksUri === 'string' ? this.options.jwksUri : await this.options.jwksUri();
      const jwks = await fetchJson(uri, this.timeoutMs);
      if (!isJwkSet(jwks)) throw new Error('the JWKS document has no "keys" list');
      this.install(jwks);
      this.options.onFetch?.('success');
    } catch (error) {
      this.options.onFetch?.('failure', error);
    }
    return this.local !== undefined;
  }

  private install(jwks: JSONWebKeySet): void {
    const fingerprint = JSON.stringify(jwks.keys);
    this.fetchedAt = Date.now();
    if (fingerprint === this.fingerprint) return;
    this.local = createLocalJWKSet(jwks);
    this.fingerprint = fingerprint;
    for (const listener of this.listeners) listener();
  }
}

/** Keys from a JWKS file (a mounted Secret or ConfigMap); a change reloads the whole config. */
export class FileKeySet implements KeySet {
  readonly getKey: KeyLookup;
  readonly ready = true;

  /** Throws an Error whose message says what is wrong with the file (never its content). */
  constructor(file: string) {
    let jwks: unknown;
    try {
      jwks = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(code ? `cannot read "${file}" (${code})` : `"${file}" is not JSON`);
    }
    if (!isJwkSet(jwks)) throw new Error(`"${file}" is not a JWKS document (no "keys" list)`);
    const privateKey = jwks.keys.find((k) => 'd' in k || ('k' in k && k.kty === 'oct'));
    if (privateKey) throw new Error(`"${file}" holds a private or symmetric key; give only public keys`);
    // jose reads a key only when a token names it: a file with no key it can use would be
    // accepted (on reload, too) and then refuse every token.
    if (!jwks.keys.some(isUsablePublicKey)) throw new Error(`"${file}" holds no usable public key`);
    this.getKey = createLocalJWKSet(jwks);
  }

  onChange(): void {}

  refresh(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

function isUsablePublicKey(jwk: JWK): boolean {
  try {
    createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

/** The JWKS URL named in the issuer's OpenID Connect discovery document. */
export function discoverJwksUri(issuer: string, timeoutMs = 5_000): () => Promise<string> {
  let found: string | undefined;
  return async () => {
    if (found) return found;
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const document = (await fetchJson(url, timeoutMs)) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== issuer) throw new Error(`${url} names another issuer`);
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} names no jwks_uri`);
    found = document.jwks_uri;
    return found;
  };
}
