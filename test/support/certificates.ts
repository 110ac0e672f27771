// Real certificates for tests, made with the openssl command line: CAs, server certificates
// for 127.0.0.1, and client certificates with the names and dates a case needs (a SPIFFE URI,
// an email, an expired one, one from another CA). EC P-256 keys, so making them is quick.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  /** PEM file paths. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint, as Node's getPeerCertificate() reports it. */
  readonly fingerprint256: string;
}

export interface CertificateAuthority extends Issued {
  readonly name: string;
  readonly dir: string;
}

export interface IssueOptions {
  /** The subject's common name; none when undefined. */
  readonly cn?: string;
  /** subjectAltName entries, kind and value: "DNS:localhost", "URI:spiffe://...", "email:...", "IP:...". */
  readonly san?: readonly string[];
  /** For a server, or for a client (the default). */
  readonly usage?: 'serverAuth' | 'clientAuth';
  /** Valid from/until, as openssl's YYYYMMDDHHMMSSZ; default: yesterday until tomorrow. */
  readonly notBefore?: string;
  readonly notAfter?: string;
}

function openssl(args: string[], cwd?: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issued(certFile: string, keyFile: string): Issued {
  const cert = readFileSync(certFile);
  return {
    certFile,
    keyFile,
    cert,
    key: readFileSync(keyFile),
    fingerprint256: new X509Certificate(cert).fingerprint256,
  };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * A self-signed CA in a folder of its own, with what `openssl ca` needs to issue from it. (The
 * folder is made here, not with sidecar.ts's tempDir: bench/ uses this file without the sidecar.)
 */
export function createCa(name: string, dir = mkdtempSync(join(tmpdir(), 'auth-sidecar-pki-'))): CertificateAuthority {
  const home = join(dir, name.replace(/\W+/g, '-'));
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'index.txt'), '');
  writeFileSync(
    join(home, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = this',
      '[this]',
      'database = index.txt',
      'new_certs_dir = .',
      'rand_serial = yes',
      'default_md = sha256',
      'policy = anything',
      'unique_subject = no',
      'email_in_dn = no',
      '[anything]',
      'commonName = optional',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    home,
  );
  return { ...issued(join(home, 'ca.crt'), join(home, 'ca.key')), name, dir: home };
}

const stamp = (date: Date) => `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
const DAY = 86_400_000;

/** A certificate signed by `ca`, written as `<name>.crt` and `<name>.key` in the CA's folder. */
export function issue(ca: CertificateAuthority, name: string, options: IssueOptions = {}): Issued {
  const { dir } = ca;
  // Alternative names in a section of their own, so that a value may hold anything, commas too.
  const san = options.san ?? [];
  const extensions = [
    'basicConstraints=critical,CA:FALSE',
    `extendedKeyUsage=${options.usage ?? 'clientAuth'}`,
    ...(san.length > 0 ? ['subjectAltName=@alt', '[alt]'] : []),
    ...san.map((entry, i) => `${entry.slice(0, entry.indexOf(':'))}.${i + 1} = ${entry.slice(entry.indexOf(':') + 1)}`),
  ];
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  const subject = options.cn === undefined ? '/' : `/CN=${options.cn.replaceAll('/', '\\/')}`;
  openssl(['req', ...EC_KEY, '-utf8', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
  const now = Date.now();
  openssl(
    [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.crt',
      '-keyfile',
      'ca.key',
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
      '-notext',
      '-utf8',
      '-startdate',
      options.notBefore ?? stamp(new Date(now - DAY)),
      '-enddate',
      options.notAfter ?? stamp(new Date(now + DAY)),
    ],
    dir,
  );
  return issued(join(dir, `${name}.crt`), join(dir, `${name}.key`));
}

/** A server certificate for the sidecar's test listener (127.0.0.1 and localhost). */
export function issueServer(ca: CertificateAuthority, name = 'server'): Issued {
  return issue(ca, name, { cn: 'localhost', san: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'serverAuth' });
}

/** Long past: for a certificate that expired. */
export const EXPIRED = { notBefore: '20200101000000Z', notAfter: '20200102000000Z' } as const;
