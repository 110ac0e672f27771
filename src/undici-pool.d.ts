// undici's Pool, imported from its own module: the package's index also loads fetch, WebSocket,
// the cache and the mock agents (about 12 MB of a sidecar's resident memory, measured) that the
// sidecar never uses. The class is the one the package exports; so are its types.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';

  const PoolClass: typeof Pool;
  export default PoolClass;
}
