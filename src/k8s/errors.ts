import { redact } from './redact.js';

/**
 * A kubeconfig or in-cluster configuration that fleetgate cannot use. The message names the
 * field (and a file path where one is involved: paths are not secrets) and never the content;
 * it is passed through `redact` as a second line of defence.
 */
export class K8sConfigError extends Error {
  override readonly name = 'K8sConfigError';
  constructor(message: string) {
    super(redact(message));
  }
}
