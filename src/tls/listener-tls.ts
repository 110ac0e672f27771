// The main listener's TLS settings, read from the files `tls` names and checked before anything
// serves with them: the certificate chain parses, the key parses and belongs to the first
// certificate, the client CAs parse, and OpenSSL accepts the whole. Any problem is a ConfigError
// naming the key (`config: tls.keyFile: ...`), so a start fails with 78 and a reload is refused
// while the running certificate keeps serving. Key material never appears in a message.
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { describeFsError } from '../config/load.ts';
import type { TlsConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';

export interface ListenerTls {
  /** What server.setSecureContext() takes: certificate, key, client CAs, TLS 1.2 at least. */
  readonly context: SecureContextOptions;
  /** Ask every client for a certificate (tls.clientCaFile is set). */
  readonly requestCert: boolean;
  /** Fail the handshake of a client without a verified certificate (tls.requireClientCert). */
  readonly rejectUnauthorized: boolean;
  /** The CAs of tls.clientCaFile (explain --cert verifies against them). */
  readonly clientCas: readonly X509Certificate[];
  /** The server certificate's end of validity, epoch milliseconds. */
  readonly notAfter: number;
  /** Changes whenever a file's content or a setting does. */
  readonly fingerprint: string;
  /** Changes with the client CAs' content: connections verified by other CAs are then retired. */
  readonly clientCaFingerprint: string | undefined;
}

export const TLS_MIN_VERSION = 'TLSv1.2';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
/** PKCS#8 "ENCRYPTED PRIVATE KEY", or a traditional key with "Proc-Type: 4,ENCRYPTED". */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/** Reads and checks the files of `tls`; throws ConfigError listing every problem. */
export function loadListenerTls(tls: TlsConfig): ListenerTls {
  const problems: string[] = [];
  const cert = readFile(tls.certFile, 'tls.certFile', problems);
  const key = readFile(tls.keyFile, 'tls.keyFile', problems);
  const ca = tls.clientCaFile === undefined ? undefined : readFile(tls.clientCaFile, 'tls.clientCaFile', problems);
  const chain = cert && certificatesIn(cert, 'tls.certFile', tls.certFile, problems);
  const privateKey = key && parseKey(key, tls.keyFile, problems);
  const clientCas = ca ? (certificatesIn(ca, 'tls.clientCaFile', tls.clientCaFile as string, problems) ?? []) : [];
  const leaf = chain?.[0];
  if (leaf && privateKey && !leaf.checkPrivateKey(privateKey)) {
    problems.push('config: tls.keyFile: does not match the first certificate of tls.certFile');
  }
  if (problems.length > 0 || !cert || !key || !leaf) throw new ConfigError(problems);
  const context: SecureContextOptions = { cert, key, minVersion: TLS_MIN_VERSION, ...(ca ? { ca } : {}) };
  try {
    createSecureContext(context);
  } catch (error) {
    // OpenSSL's reason (a key too small for its security level, say) names no key material.
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    throw new ConfigError([`config: tls.certFile: OpenSSL refuses the certificate and key: ${reason}`]);
  }
  const requestCert = ca !== undefined;
  const rejectUnauthorized = requestCert && tls.requireClientCert;
  const sha256 = (...parts: (Buffer | string)[]) => {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return hash.digest('hex');
  };
  return {
    context,
    requestCert,
    rejectUnauthorized,
    clientCas,
    notAfter: Date.parse(leaf.validTo),
    fingerprint: sha256(cert, key, ca ?? '', `${requestCert}:${rejectUnauthorized}`),
    clientCaFingerprint: ca && sha256(ca),
  };
}

function readFile(path: string, key: string, problems: string[]): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    problems.push(`config: ${key}: cannot read "${path}": ${describeFsError(error)}`);
    return undefined;
  }
}

/** Every PEM certificate of a file, in order; a file with none, or one that does not parse, is a problem. */
function certificatesIn(pem: Buffer, key: string, path: string, problems: string[]): X509Certificate[] | undefined {
  const certificates = pemCertificates(pem);
  if (typeof certificates === 'string') problems.push(`config: ${key}: "${path}" ${certificates}`);
  return typeof certificates === 'string' ? undefined : certificates;
}

/** The PEM certificates of a file, in order, or what is wrong (a phrase that follows the file's name). */
export function pemCertificates(pem: Buffer): X509Certificate[] | string {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return 'holds a certificate that does not parse';
  }
}

function parseKey(pem: Buffer, path: string, problems: string[]): KeyObject | undefined {
  try {
    return createPrivateKey(pem);
  } catch {
    const encrypted = ENCRYPTED_PEM.test(pem.toString('latin1'));
    problems.push(
      `config: tls.keyFile: "${path}" ${encrypted ? 'holds an encrypted key: give it unencrypted' : 'holds no PEM private key'}`,
    );
    return undefined;
  }
}

/** The options of a node:https server that serves with these settings. */
export function serverOptions(tls: ListenerTls): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return { ...tls.context, requestCert: tls.requestCert, rejectUnauthorized: tls.rejectUnauthorized };
}
