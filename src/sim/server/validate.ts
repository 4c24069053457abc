/**
 * Admission checks on written objects: names (RFC 1123), label and annotation maps, configmap and
 * secret data, and a pod's containers. Failures are 422 Invalid with the API server's causes.
 */
import type { ResourceDef } from '../resources.js';
import type { Obj } from '../generate.js';
import { HttpError } from './errors.js';

const kDns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const kDns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function invalid(def: ResourceDef, name: string, field: string, value: unknown, why: string): HttpError {
  const detail = `Invalid value: ${JSON.stringify(value)}: ${why}`;
  return new HttpError(422, 'Invalid', `${def.kind} "${name}" is invalid: ${field}: ${detail}`, {
    name,
    group: def.group || undefined,
    kind: def.kind,
    causes: [{ reason: 'FieldValueInvalid', message: detail, field }],
  });
}

export function required(def: ResourceDef, name: string, field: string, why = 'Required value'): HttpError {
  return new HttpError(422, 'Invalid', `${def.kind} "${name}" is invalid: ${field}: ${why}`, {
    name,
    group: def.group || undefined,
    kind: def.kind,
    causes: [{ reason: 'FieldValueRequired', message: why, field }],
  });
}

export function validate(def: ResourceDef, obj: Obj): void {
  const m = obj.metadata;
  const name: string = m.name;
  if (def.plural === 'namespaces') {
    if (name.length > 63 || !kDns1123Label.test(name)) {
      throw invalid(def, name, 'metadata.name', name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    }
  } else if (name.length > 253 || !kDns1123Subdomain.test(name) || name.includes(':')) {
    throw invalid(def, name, 'metadata.name', name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  for (const field of ['labels', 'annotations'] as const) {
    const v = m[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(def, name, `metadata.${field}`, v, 'must be a map of strings');
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string') throw invalid(def, name, `metadata.${field}.${k}`, val, 'must be a string');
    }
  }
  if (def.plural === 'configmaps' || def.plural === 'secrets') {
    for (const field of def.plural === 'configmaps' ? ['data'] : ['data', 'stringData']) {
      const d = obj[field];
      if (d === undefined || d === null) continue;
      if (typeof d !== 'object' || Array.isArray(d)) throw invalid(def, name, field, d, 'must be a map of strings');
      for (const [k, val] of Object.entries(d)) {
        if (typeof val !== 'string') throw invalid(def, name, `${field}[${k}]`, val, 'must be a string');
      }
    }
  }
  if (def.plural === 'pods') {
    const cs = obj.spec?.containers;
    if (!Array.isArray(cs) || cs.length === 0) throw required(def, name, 'spec.containers');
    cs.forEach((c: Obj, i: number) => {
      if (!c || typeof c.name !== 'string' || !c.name) throw required(def, name, `spec.containers[${i}].name`);
      if (typeof c.image !== 'string' || !c.image) throw required(def, name, `spec.containers[${i}].image`);
    });
  }
}
