/**
 * Certificates made with @peculiar/x509 over WebCrypto (ECDSA P-256 keeps handshakes cheap): a CA
 * that issues server certificates (for 127.0.0.1, localhost and any extra names) and client
 * certificates. The server's own listener CA (src/server/tls.ts) and the simulator's clusters
 * both use it; neither owns it.
 */
import { isIP } from 'node:net';
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs a Reflect polyfill.
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';

type KeyPair = webcrypto.CryptoKeyPair;
// Node's webcrypto is the standard Crypto; its TypeScript type only differs in Node's extras.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const kAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const kDayMs = 86_400_000;

export interface Pem {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends Pem {
  /** Issues a leaf certificate signed by this CA. */
  /** `hosts`: extra subject alternative names of a server certificate (IP addresses or DNS names). */
  issue(opts: { commonName: string; organization?: string; server?: boolean; hosts?: readonly string[] }): Promise<Pem>;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const b = randomBytes(12);
  b[0] &= 0x7f; // positive
  b[0] |= 0x01;
  return b.toString('hex');
}

function certPem(cert: x509.X509Certificate): string {
  return cert.toString('pem').replace(/\r\n/g, '\n') + '\n';
}

export async function createCertificateAuthority(name = 'fleetgate-sim-ca'): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(kAlg, true, ['sign', 'verify'])) as KeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}, O=fleetgate`,
    keys,
    signingAlgorithm: kAlg,
    notBefore: new Date(now - kDayMs),
    notAfter: new Date(now + 365 * kDayMs),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const caPem = certPem(ca);
  return {
    certPem: caPem,
    keyPem: await keyPem(keys.privateKey),
    async issue({ commonName, organization, server, hosts = [] }) {
      const leaf = (await webcrypto.subtle.generateKey(kAlg, true, ['sign', 'verify'])) as KeyPair;
      const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      ];
      if (server) {
        extensions.push(
          new x509.SubjectAlternativeNameExtension([
            { type: 'ip', value: '127.0.0.1' },
            { type: 'dns', value: 'localhost' },
            ...hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })),
          ]),
        );
      }
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: organization ? `CN=${commonName}, O=${organization}` : `CN=${commonName}`,
        issuer: ca.subject,
        publicKey: leaf.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: kAlg,
        notBefore: new Date(now - kDayMs),
        notAfter: new Date(now + 365 * kDayMs),
        extensions,
      });
      return { certPem: certPem(cert), keyPem: await keyPem(leaf.privateKey) };
    },
  };
}
