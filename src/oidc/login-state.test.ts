import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../sessions/memory-store.ts';
import { LoginStates } from './login-state.ts';

const ISSUER = 'https://login.corp.example';

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: { code?: string }) => error.code,
  );

describe('LoginStates', () => {
  it('hands an attempt back once, to the browser that holds its binding, with its provider', async () => {
    const store = new MemoryStore();
    const states = new LoginStates(store);
    const request = await states.begin('/after', ISSUER);
    expect(request.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request.binding).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const pending = await states.finish(request.state, request.binding);
    expect(pending.rd).toBe('/after');
    expect(pending.issuer).toBe(ISSUER);
    expect(pending.nonce).toBe(request.nonce);
    expect(pending.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await codeOf(states.finish(request.state, request.binding))).toBe('login_state_invalid');
  });

  it('refuses another binding and uses the attempt up all the same', async () => {
    const states = new LoginStates(new MemoryStore());
    const request = await states.begin('/', ISSUER);
    const other = await states.begin('/', ISSUER);
    expect(await codeOf(states.finish(request.state, other.binding))).toBe('login_state_mismatch');
    expect(await codeOf(states.finish(request.state, request.binding))).toBe('login_state_invalid');
    expect(await codeOf(states.finish(other.state, undefined))).toBe('login_state_mismatch');
  });

  it('refuses a missing or malformed state without looking it up', async () => {
    const states = new LoginStates(new MemoryStore());
    expect(await codeOf(states.finish(undefined, undefined))).toBe('login_state_missing');
    expect(await codeOf(states.finish('', undefined))).toBe('login_state_missing');
    expect(await codeOf(states.finish('x'.repeat(5000), undefined))).toBe('login_state_invalid');
  });

  it('stores neither the state nor the verifier in readable form', async () => {
    const store = new MemoryStore();
    const states = new LoginStates(store);
    const request = await states.begin('/', ISSUER);
    expect(await store.get(`login:${request.state}`)).toBeNull();
  });
});
