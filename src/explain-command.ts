// The `explain` command line: reads the config, builds its parts without listening (sessions
// and lockout counters in memory, never the configured Redis), and prints the explanation.
// Exit 0 whatever the decision; 64 for a usage error, 78 for an invalid config.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseCommandLine, UsageError } from './cli-args.ts';
import { configFileOf } from './config/env.ts';
import { describeFsError, loadConfig } from './config/load.ts';
import type { AuthMethod, Config } from './config/schema.ts';
import type { Runtime } from './decision/runtime.ts';
import { explain, formatExplanation } from './explain.ts';
import type { ClientCertificate } from './net/client-certificate.ts';
import { buildRuntime, offlineServices, retireRuntime } from './runtime.ts';
import { pemCertificates } from './tls/listener-tls.ts';
import { presentedCertificate } from './tls/offline-verify.ts';

export interface CommandHelpers {
  usageError(message: string): number;
  reportConfigError(error: unknown): number;
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  method: { type: 'string', short: 'X', default: 'GET' },
  token: { type: 'string' },
  basic: { type: 'string' },
  claims: { type: 'string' },
  via: { type: 'string' },
  cert: { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  peer: { type: 'string' },
} as const;

export async function explainCommand(args: string[], helpers: CommandHelpers): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine<typeof OPTIONS>>;
  try {
    parsed = parseCommandLine(args, OPTIONS, true);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return helpers.usageError(error.message);
  }
  const { values, positionals } = parsed;
  const problem = checkArguments(values, positionals);
  if (problem) return helpers.usageError(problem);
  const headers = parseHeaders(values.header ?? []);
  if (typeof headers === 'string') return helpers.usageError(headers);
  // "-" reads the credential from stdin, so that it shows neither in `ps` nor in shell history.
  const token = values.token === '-' ? await firstLineOfStdin() : values.token;
  const basic = values.basic === '-' ? await firstLineOfStdin() : values.basic;
  if (basic !== undefined && !basic.includes(':')) return helpers.usageError('--basic must be USER:PASSWORD');
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (basic !== undefined) headers.Authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  let claims: Record<string, unknown> | undefined;
  if (values.claims !== undefined) {
    claims = parseClaims(values.claims);
    if (claims === undefined) return helpers.usageError('--claims must be a JSON object');
  }

  let config: Config;
  try {
    config = loadConfig({ file: configFileOf(values.config) }).config;
  } catch (error) {
    return helpers.reportConfigError(error);
  }
  const services = offlineServices();
  let runtime: ReturnType<typeof buildRuntime>;
  try {
    runtime = buildRuntime({ ...config, session: { ...config.session, store: 'memory' } }, services);
  } catch (error) {
    return helpers.reportConfigError(error);
  }
  try {
    const clientCertificate = values.cert === undefined ? undefined : readPresentedCertificate(values.cert, runtime);
    if (typeof clientCertificate === 'string') return helpers.usageError(clientCertificate);
    const result = await explain(runtime, {
      method: (values.method ?? 'GET').toUpperCase(),
      target: positionals[0] as string,
      headers,
      claims,
      claimsVia: values.via as AuthMethod | undefined,
      peer: values.peer,
      clientCertificate,
    });
    process.stdout.write(formatExplanation(result));
    return 0;
  } finally {
    await retireRuntime(runtime, undefined, services);
  }
}

function checkArguments(
  values: {
    method?: string | undefined;
    token?: string | undefined;
    basic?: string | undefined;
    claims?: string | undefined;
    via?: string | undefined;
    peer?: string | undefined;
  },
  positionals: string[],
): string | undefined {
  if (positionals.length !== 1) return 'explain needs exactly one PATH (e.g. "/admin/users?x=1")';
  // As routes[].methods: anything else the sidecar would never receive as a method.
  if (values.method !== undefined && !/^[A-Za-z]+$/.test(values.method)) return '-X must be an HTTP method such as GET';
  if (values.peer !== undefined && isIP(values.peer) === 0) return '--peer must be an IP address';
  const credentials = [values.token, values.basic, values.claims].filter((v) => v !== undefined);
  if (credentials.length > 1) return 'give at most one of --token, --basic and --claims';
  if (values.via !== undefined && values.claims === undefined) return '--via only goes with --claims';
  if (values.via !== undefined && values.via !== 'jwt' && values.via !== 'session') {
    return '--via must be jwt or session (basic credentials carry no claims)';
  }
  return undefined;
}

/** `--cert FILE`: a PEM chain as a client would present it, checked against tls.clientCaFile; else why not. */
function readPresentedCertificate(file: string, runtime: Runtime): ClientCertificate | string {
  if (!runtime.tls?.requestCert)
    return '--cert needs tls.clientCaFile in the config: without it no certificate is asked for';
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    return `--cert: cannot read "${file}": ${describeFsError(error)}`;
  }
  const chain = pemCertificates(pem);
  return typeof chain === 'string' ? `--cert: "${file}" ${chain}` : presentedCertificate(chain, runtime.tls);
}

/** The first line of stdin, without its line ending (as hash-password reads a password). */
async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/, 1)[0] as string;
}

function parseHeaders(lines: string[]): Record<string, string> | string {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `--header must be "Name: value", not ${JSON.stringify(line)}`;
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function parseClaims(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
