import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError, firstStartImport } from '../../src/store/index.js';
import { kubeconfig, refDir, threeContexts, toYaml } from '../k8s/helpers.js';
import { open, tempDir } from './helpers.js';

function kubeDir(text: string): { dir: string; file: string } {
  const dir = refDir(tempDir());
  const file = join(dir, 'config');
  writeFileSync(file, text);
  return { dir, file };
}

describe('firstStartImport', () => {
  it('--kubeconfig with 3 contexts: one row each, current context default, relative paths read and stored inline', async () => {
    const s = open();
    const { dir, file } = kubeDir(threeContexts());
    const r = await firstStartImport(s, { kubeconfigPath: file, env: {}, home: '/nonexistent' });
    expect(r).toEqual({ imported: 3, source: file, defaultCluster: 'beta' });
    expect(s.clusters.list().map((c) => [c.name, c.isDefault])).toEqual([
      ['alpha', false],
      ['beta', true],
      ['gamma', false],
    ]);
    expect(s.clusters.getByName('beta')!.config).toContain(Buffer.from(readFileSync(join(dir, 'rel/ca.crt'))).toString('base64'));
  });

  it('does nothing when the table is not empty', async () => {
    const s = open();
    s.clusters.create({ name: 'x', config: kubeconfig() });
    const { file } = kubeDir(threeContexts());
    expect((await firstStartImport(s, { kubeconfigPath: file, env: {}, home: '/' })).imported).toBe(0);
    expect(s.clusters.count()).toBe(1);
  });

  it('$KUBECONFIG (first path of a list), then ~/.kube/config', async () => {
    const a = open();
    const { file } = kubeDir(threeContexts());
    const r = await firstStartImport(a, { env: { KUBECONFIG: `${file}:/other/config` }, home: '/nonexistent' });
    expect(r).toMatchObject({ imported: 3, source: file });

    const b = open();
    const home = tempDir();
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), kubeconfig({ contextName: 'homectx' }));
    expect(await firstStartImport(b, { env: {}, home })).toMatchObject({ imported: 1, defaultCluster: 'homectx' });

    const c = open();
    expect(await firstStartImport(c, { env: {}, home: tempDir() })).toMatchObject({ imported: 0, reason: expect.stringMatching(/no --kubeconfig/) });
  });

  it('an unreadable --kubeconfig is an error; a missing $KUBECONFIG file is not', async () => {
    const s = open();
    await expect(firstStartImport(s, { kubeconfigPath: '/no/such/file', env: {}, home: '/' })).rejects.toThrow(StoreError);
    expect(await firstStartImport(s, { env: { KUBECONFIG: '/no/such/file' }, home: '/' })).toMatchObject({ imported: 0 });
  });

  it('contexts that cannot stand alone are skipped and reported', async () => {
    const s = open();
    const { file } = kubeDir(
      toYaml({
        'current-context': 'good',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        contexts: [
          { name: 'good', context: { cluster: 'c' } },
          { name: 'broken', context: { cluster: 'missing' } },
        ],
      }),
    );
    const r = await firstStartImport(s, { kubeconfigPath: file, env: {}, home: '/' });
    expect(r.imported).toBe(1);
    expect(r.skipped).toEqual([{ context: 'broken', reason: expect.stringMatching(/refers to cluster "missing"/) }]);
    expect(s.clusters.getByName('good')?.isDefault).toBe(true);
  });
});
