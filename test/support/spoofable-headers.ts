// The client headers an app may take as the caller, the method, the path or where the request
// came from (issue 11), as the tests send them: the sidecar must never forward the first list,
// and the second only from a trusted proxy. Written here once, apart from the code under test.

/** Identity, method-override and URL-rewrite headers: never forwarded, from anyone. */
export const NEVER_FORWARDED = [
  'Remote-User',
  'X-Remote-User',
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
  'X-Forwarded-Method',
  'X-Rewrite-URL',
  'X-Original-URL',
  'X-Original-URI',
  'X-Forwarded-Uri',
];

/** Where the request came from: forwarded only from a trusted proxy. */
export const PROXY_ONLY = [
  'Forwarded',
  'X-Real-IP',
  'True-Client-IP',
  'X-Client-IP',
  'X-Forwarded-Port',
  'X-Forwarded-Prefix',
  'X-Forwarded-Server',
  'X-Forwarded-Ssl',
  'X-Forwarded-Scheme',
  'Front-End-Https',
];

/** Each name as written, in lower and upper case, and in "_" spelling. */
export function spellings(names: readonly string[]): string[] {
  return names.flatMap((name) => [
    name,
    name.toLowerCase(),
    name.toUpperCase(),
    ...(name.includes('-') ? [name.replaceAll('-', '_')] : []),
  ]);
}
