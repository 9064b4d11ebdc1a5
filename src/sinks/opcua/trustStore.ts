import { X509Certificate } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { OPCUACertificateManager } from 'node-opcua';

type Certificate = Parameters<OPCUACertificateManager['rejectCertificate']>[0];

/** SHA-256 fingerprint of the first certificate in DER or PEM bytes (a chain names its leaf first). */
function fingerprint(bytes: Buffer): string | undefined {
  try {
    return new X509Certificate(bytes).fingerprint256;
  } catch {
    return undefined;
  }
}

const leaf = (c: Certificate): Buffer => (Array.isArray(c) ? c[0]! : c);

/** Files in `folder` holding the certificate with fingerprint `fp`; none when the folder is missing. */
async function holding(folder: string, fp: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const found: string[] = [];
  for (const name of names) {
    const file = path.join(folder, name);
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes && fingerprint(bytes) === fp) found.push(file);
  }
  return found;
}

/**
 * A certificate file in trusted/certs is trusted, whatever node-opcua-pki's index says. The index follows the
 * folders through watchers: a client retrying while an operator moves its certificate out of rejected/ can be
 * judged unknown and written to rejected/ again, and a certificate in both folders counts as rejected for good.
 * So an untrusted verdict is checked against the disk: when trusted/certs holds the certificate, its copies
 * in rejected/ go, the index is read again and the certificate verified again (time, chain and revocation
 * checks still apply). A rejection never moves a certificate out of trusted/certs.
 */
export function keepTrusted(pki: OPCUACertificateManager): void {
  const verify = pki.verifyCertificate.bind(pki);
  const reject = pki.rejectCertificate.bind(pki);
  const trustedOnDisk = async (c: Certificate): Promise<string | undefined> => {
    const fp = fingerprint(leaf(c));
    return fp && (await holding(pki.trustedFolder, fp)).length > 0 ? fp : undefined;
  };
  pki.verifyCertificate = async (certificate, options) => {
    const status = await verify(certificate, options);
    if (status !== 'BadCertificateUntrusted') return status;
    const fp = await trustedOnDisk(certificate);
    if (!fp) return status;
    for (const file of await holding(pki.rejectedFolder, fp)) await rm(file, { force: true });
    await pki.reloadCertificates();
    return verify(certificate, options);
  };
  pki.rejectCertificate = async (certificate) => {
    if (!(await trustedOnDisk(certificate))) await reject(certificate);
  };
}
