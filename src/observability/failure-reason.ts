// A short reason for a failed outbound call, for log lines and /readyz. Node's fetch throws a
// bare `TypeError: fetch failed` and hides the real reason in `cause` (`bad port`,
// `connect ECONNREFUSED 127.0.0.1:4190`, `getaddrinfo ENOTFOUND idp`): without the cause an
// operator cannot tell a typo in a host name from a provider that is down.

const MAX_DEPTH = 4;

/** The error's message followed by those of its causes: `fetch failed: bad port`. */
export function failureReason(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < MAX_DEPTH && current !== undefined && current !== null; depth++) {
    const part = describeOne(current);
    if (part !== '' && !parts.some((seen) => seen.includes(part))) parts.push(part);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.length > 0 ? parts.join(': ') : 'unknown error';
}

function describeOne(error: unknown): string {
  if (typeof error === 'string') return error;
  const { message, code } = error as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' ? message : '';
  // An AggregateError (every address of a host refused) has an empty message and a code.
  if (typeof code === 'string' && !text.includes(code)) return text === '' ? code : `${text} (${code})`;
  return text;
}
