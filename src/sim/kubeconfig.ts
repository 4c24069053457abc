/**
 * Kubeconfig YAML for simulated clusters: one cluster, user and context per simulated cluster,
 * named after it. Written by hand (the structure is fixed and every value is quoted as a JSON
 * string, which is valid YAML), so the simulator needs no YAML library.
 */

export interface KubeconfigCluster {
  name: string;
  server: string;
  caPem: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

const q = (s: string) => JSON.stringify(s);
const b64 = (s: string) => Buffer.from(s).toString('base64');

export function renderKubeconfig(clusters: KubeconfigCluster[], current?: string): string {
  const lines: string[] = ['apiVersion: v1', 'kind: Config', 'preferences: {}'];
  const cur = current ?? clusters[0]?.name;
  if (cur) lines.push(`current-context: ${q(cur)}`);
  if (!clusters.length) {
    lines.push('clusters: []', 'contexts: []', 'users: []');
    return lines.join('\n') + '\n';
  }
  lines.push('clusters:');
  for (const c of clusters) {
    lines.push(`- name: ${q(c.name)}`, '  cluster:', `    server: ${q(c.server)}`, `    certificate-authority-data: ${q(b64(c.caPem))}`);
  }
  lines.push('contexts:');
  for (const c of clusters) {
    lines.push(`- name: ${q(c.name)}`, '  context:', `    cluster: ${q(c.name)}`, `    user: ${q(c.name + '-admin')}`, `    namespace: "default"`);
  }
  lines.push('users:');
  for (const c of clusters) {
    lines.push(`- name: ${q(c.name + '-admin')}`, '  user:');
    if (c.clientCertPem && c.clientKeyPem) {
      lines.push(`    client-certificate-data: ${q(b64(c.clientCertPem))}`, `    client-key-data: ${q(b64(c.clientKeyPem))}`);
    } else {
      lines.push(`    token: ${q(c.token ?? '')}`);
    }
  }
  return lines.join('\n') + '\n';
}
