/**
 * A self-signed certificate for 127.0.0.1 and localhost, made by the openssl command line for one
 * suite: the key and certificate as PEM, and the certificate's file to hand a client as its CA.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface TestCertificate {
  key: string;
  cert: string;
  /** The certificate's file: the CA a client trusts. */
  caFile: string;
  remove(): Promise<void>;
}

export async function selfSignedCertificate(): Promise<TestCertificate> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-cert-'));
  const keyFile = path.join(dir, 'key.pem');
  const caFile = path.join(dir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=stepvault test server',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    caFile,
  ]);
  return {
    key: await readFile(keyFile, 'utf8'),
    cert: await readFile(caFile, 'utf8'),
    caFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
