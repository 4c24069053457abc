/**
 * The HTTPS serving certificate. kubectl (client-go) sends credentials only over TLS, so a
 * kubectl pointed at /k8s/NAME needs HTTPS. An operator brings a certificate (--tls-cert,
 * --tls-key); otherwise fleetgate makes a CA and a certificate for 127.0.0.1 and localhost at
 * first start and keeps them in DATA/tls/ (keys mode 0600), so kubeconfigs it hands out stay
 * valid across restarts. The CA goes into those kubeconfigs as certificate-authority-data.
 * `--tls-san` names more hosts for that certificate; when the list changes, a new CA and
 * certificate are made (kubeconfigs handed out before then carry the old CA: download again).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority } from '../pki/certs.js';

export interface ServingCert {
  certPem: string;
  keyPem: string;
  /** CA that signed certPem, for clients' trust ('' when the operator's certificate is used). */
  caPem: string;
}

export async function loadServingCert(dataDir: string, files: { cert?: string; key?: string; hosts?: readonly string[] }): Promise<ServingCert> {
  if (files.cert && files.key) {
    return { certPem: readFileSync(files.cert, 'utf8'), keyPem: readFileSync(files.key, 'utf8'), caPem: '' };
  }
  const dir = join(dataDir, 'tls');
  const paths = { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), hosts: join(dir, 'hosts.json') };
  const hosts = [...new Set(files.hosts ?? [])].sort();
  const madeFor = existsSync(paths.hosts) ? readFileSync(paths.hosts, 'utf8') : '[]';
  if (existsSync(paths.ca) && existsSync(paths.cert) && existsSync(paths.key) && madeFor === JSON.stringify(hosts)) {
    return {
      certPem: readFileSync(paths.cert, 'utf8'),
      keyPem: readFileSync(paths.key, 'utf8'),
      caPem: readFileSync(paths.ca, 'utf8'),
    };
  }
  const ca = await createCertificateAuthority('fleetgate-serving-ca');
  const leaf = await ca.issue({ commonName: 'fleetgate', server: true, hosts });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(paths.hosts, JSON.stringify(hosts));
  writeFileSync(paths.ca, ca.certPem);
  writeFileSync(paths.cert, leaf.certPem);
  writeFileSync(paths.key, leaf.keyPem, { mode: 0o600 });
  // The CA key is not needed again (a new one is made if the files are removed).
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: ca.certPem };
}
