/**
 * The config hash: the sync worker's "did this cluster change?" key and the HTTP workers' client
 * cache key (with the entry generation). Keyed by exactly the fields that change what a client
 * does, as client-go's transport cache keys its transports: every ClientConfig field, the Prometheus URL and the enabled flag. Name,
 * description and the default flag are deliberately left out: changing them must not drop a
 * cluster's connections.
 */
import { createHash } from 'node:crypto';
import type { ClientConfig } from '../index/types.js';

/** Bump when the hashed field list changes, so old and new hashes never collide. */
const kHashVersion = 'fleetgate-config-hash/v1';

export interface ConfigHashInput {
  config: ClientConfig;
  prometheusUrl: string;
  enabled: boolean;
}

/** Stable lowercase hex SHA-256 over the fields above, in a fixed order (JSON array: unambiguous). */
export function configHash(input: ConfigHashInput): string {
  const c = input.config;
  const fields = [
    kHashVersion,
    c.server,
    c.caData,
    c.certData,
    c.keyData,
    c.token,
    c.tlsServerName,
    c.insecure === true,
    c.proxyUrl,
    input.prometheusUrl,
    input.enabled === true,
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}
