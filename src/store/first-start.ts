/**
 * First-start import, as Kite does: when the cluster table is empty, import every context of
 * `--kubeconfig FILE`, else the first file of $KUBECONFIG, else ~/.kube/config when present; the
 * file's current context becomes the default. Contexts that cannot stand alone are skipped and
 * reported rather than failing start-up.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { StoreError } from './errors.js';
import type { StoreBackend } from './backend.js';

export interface FirstStartOptions {
  /** --kubeconfig FILE: must be readable when given. */
  kubeconfigPath?: string;
  env: NodeJS.ProcessEnv;
  /** Home directory for ~/.kube/config. */
  home: string;
  /** Passed to the import (default true: exec users are stored and refused at sync time). */
  allowExec?: boolean;
}

export interface FirstStartResult {
  imported: number;
  /** The kubeconfig file used, when one was. */
  source?: string;
  /** Name of the cluster that became the default. */
  defaultCluster?: string;
  skipped?: Array<{ context: string; reason: string }>;
  /** Why nothing was imported, when nothing was. */
  reason?: string;
}

export async function firstStartImport(store: StoreBackend, opts: FirstStartOptions): Promise<FirstStartResult> {
  if ((await store.clusters.count()) > 0) return { imported: 0, reason: 'the cluster table is not empty' };
  let path: string | undefined;
  let explicit = false;
  if (opts.kubeconfigPath) {
    path = resolve(opts.kubeconfigPath);
    explicit = true;
  } else if (opts.env.KUBECONFIG) {
    const first = opts.env.KUBECONFIG.split(delimiter).find((p) => p !== '');
    if (first) path = resolve(first);
  } else {
    const home = join(opts.home, '.kube', 'config');
    if (existsSync(home)) path = home;
  }
  if (!path) return { imported: 0, reason: 'no --kubeconfig, $KUBECONFIG or ~/.kube/config' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (explicit) throw new StoreError('invalid', `cannot read --kubeconfig ${path} (${code})`);
    return { imported: 0, source: path, reason: `cannot read ${path} (${code})` };
  }
  const { rows, skipped } = await store.clusters.importDetailed(text, {
    setDefault: true,
    baseDir: dirname(path),
    skipInvalid: true,
    allowExec: opts.allowExec ?? true,
  });
  return {
    imported: rows.length,
    source: path,
    defaultCluster: rows.find((r) => r.isDefault)?.name,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}
