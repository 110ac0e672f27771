// Loaded by vitest before every test file (vitest.config.ts: setupFiles).
import { afterAll } from 'vitest';
import { killLeftovers } from './children.ts';

// Registered first, so it runs after the file's own afterAll hooks have stopped what they could.
afterAll(killLeftovers);
