// One login attempt in progress, stored per attempt and keyed by its state, so that several
// tabs can log in at once, even tabs that all start at the same moment. It is bound to the
// browser that started it: the attempt's record is sealed with a key derived from a random
// value (the binding) held only in that browser's login cookie for this attempt, so a callback
// from any other browser (login CSRF, a leaked callback URL) cannot open it. It is taken (read
// and deleted) once, so a replayed callback finds nothing; and it expires soon. It records the
// provider it was started for, so that the callback is verified by that provider alone.
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { calculatePKCECodeChallenge, randomNonce, randomPKCECodeVerifier, randomState } from 'openid-client';
import { BadRequestError } from '../errors.ts';
import { seal, unseal } from '../sessions/seal.ts';
import type { SessionStore } from '../sessions/store.ts';

export interface PendingLogin {
  /** The configured issuer of the provider the login was started at (absent before 0.2). */
  readonly issuer?: string | undefined;
  readonly codeVerifier: string;
  readonly nonce: string;
  /** Where to go after the login (already made safe). */
  readonly rd: string;
}

export interface LoginRequest {
  readonly state: string;
  readonly nonce: string;
  readonly codeChallenge: string;
  /** Goes into this attempt's login cookie in the browser, and nowhere else. */
  readonly binding: string;
}

/** How long a browser has to come back from the provider. */
export const LOGIN_TTL_SECONDS = 600;

/** base64url of 32 random bytes: what randomState() and newBinding() produce. */
const RANDOM_32 = /^[A-Za-z0-9_-]{43}$/;

export function isBinding(value: string): boolean {
  return RANDOM_32.test(value);
}

export class LoginStates {
  private readonly store: SessionStore;

  constructor(store: SessionStore) {
    this.store = store;
  }

  /** A new attempt at the provider of `issuer`, to come back to `rd`. */
  async begin(rd: string, issuer: string): Promise<LoginRequest> {
    const state = randomState();
    const binding = randomBytes(32).toString('base64url');
    const nonce = randomNonce();
    const codeVerifier = randomPKCECodeVerifier();
    const pending: PendingLogin = { issuer, codeVerifier, nonce, rd };
    const key = storeKey(state);
    const sealed = seal(bindingKey(binding, state), Buffer.from(JSON.stringify(pending)), key);
    await this.store.set(key, sealed, LOGIN_TTL_SECONDS * 1000);
    return { state, nonce, codeChallenge: await calculatePKCECodeChallenge(codeVerifier), binding };
  }

  /** The attempt named by `state`, used up; 400 when it is unknown, used, expired or not this browser's. */
  async finish(state: string | undefined, binding: string | undefined): Promise<PendingLogin> {
    if (state === undefined || state === '') {
      throw new BadRequestError('login_state_missing', 'the login response has no state; start the login again');
    }
    if (!RANDOM_32.test(state)) throw unknownState();
    const key = storeKey(state);
    // Taken first, whatever follows: a state is good for one callback, even a refused one.
    const sealed = await this.store.take(key);
    if (sealed === null) throw unknownState();
    const plaintext = binding === undefined ? null : unseal(bindingKey(binding, state), sealed, key);
    if (plaintext === null) {
      throw new BadRequestError('login_state_mismatch', 'this browser did not start this login; start it again');
    }
    return JSON.parse(Buffer.from(plaintext).toString('utf8')) as PendingLogin;
  }
}

function unknownState(): BadRequestError {
  return new BadRequestError('login_state_invalid', 'the login state is unknown, expired or already used');
}

function storeKey(state: string): string {
  return `login:${createHash('sha256').update(state).digest('base64url')}`;
}

function bindingKey(binding: string, state: string): Buffer {
  return Buffer.from(hkdfSync('sha256', binding, state, 'auth-sidecar login state', 32));
}
