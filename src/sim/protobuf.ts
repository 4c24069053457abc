/**
 * Just enough Kubernetes protobuf to read the request bodies kubectl sends.
 *
 * kubectl (client-go typed clients, 1.32+) sends `application/vnd.kubernetes.protobuf` bodies for
 * built-in kinds on create and update (`kubectl create configmap|secret|namespace|serviceaccount|
 * deployment`, `kubectl scale`), with no JSON fallback, so the simulator decodes those kinds. A body is the magic
 * "k8s\0" then a runtime.Unknown { typeMeta(1){apiVersion(1), kind(2)}, raw(2) }, raw being the
 * object's own message. Decoding is schema-driven: only the fields listed below are read (others
 * are skipped), empty strings and empty timestamps are dropped as Go's omitempty would.
 * Field numbers are those of k8s.io/api generated.proto, checked against kubectl 1.32's bodies.
 */

export class ProtobufError extends Error {}

type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'intOrString' | 'quantity';
type FieldType = Scalar | { msg: () => Schema } | { map: Scalar | { msg: () => Schema } };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
  /** A Go pointer field: 0 and false are values, not "unset" (otherwise omitted, as omitempty). */
  ptr?: boolean;
}
type Schema = Record<number, Field>;

const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, repeated });
const p = (name: string, type: FieldType): Field => ({ name, type, ptr: true });
const msg = (s: () => Schema) => ({ msg: s });

const kOwnerReference: Schema = {
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: p('controller', 'bool'),
  7: p('blockOwnerDeletion', 'bool'),
};

const kObjectMeta: Schema = {
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int'),
  8: f('creationTimestamp', 'time'),
  9: f('deletionTimestamp', 'time'),
  10: p('deletionGracePeriodSeconds', 'int'),
  11: f('labels', { map: 'string' }),
  12: f('annotations', { map: 'string' }),
  13: f('ownerReferences', msg(() => kOwnerReference), true),
  14: f('finalizers', 'string', true),
};
const kMetadataField = f('metadata', msg(() => kObjectMeta));

const kLabelSelector: Schema = {
  1: f('matchLabels', { map: 'string' }),
  2: f('matchExpressions', msg(() => ({ 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', true) })), true),
};

const kContainer: Schema = {
  1: f('name', 'string'),
  2: f('image', 'string'),
  3: f('command', 'string', true),
  4: f('args', 'string', true),
  5: f('workingDir', 'string'),
  6: f('ports', msg(() => ({ 1: f('name', 'string'), 2: f('hostPort', 'int'), 3: f('containerPort', 'int'), 4: f('protocol', 'string'), 5: f('hostIP', 'string') })), true),
  7: f('env', msg(() => ({ 1: f('name', 'string'), 2: f('value', 'string') })), true),
  8: f('resources', msg(() => ({ 1: f('limits', { map: 'quantity' }), 2: f('requests', { map: 'quantity' }) }))),
  13: f('terminationMessagePath', 'string'),
  14: f('imagePullPolicy', 'string'),
  20: f('terminationMessagePolicy', 'string'),
};

const kPodSpec: Schema = {
  2: f('containers', msg(() => kContainer), true),
  3: f('restartPolicy', 'string'),
  4: p('terminationGracePeriodSeconds', 'int'),
  5: p('activeDeadlineSeconds', 'int'),
  6: f('dnsPolicy', 'string'),
  7: f('nodeSelector', { map: 'string' }),
  8: f('serviceAccountName', 'string'),
  9: f('serviceAccount', 'string'),
  10: f('nodeName', 'string'),
  19: f('schedulerName', 'string'),
  20: f('initContainers', msg(() => kContainer), true),
};

const kPodTemplateSpec: Schema = { 1: kMetadataField, 2: f('spec', msg(() => kPodSpec)) };

const kKindSchemas: Record<string, Schema> = {
  'v1/ConfigMap': { 1: kMetadataField, 2: f('data', { map: 'string' }), 3: f('binaryData', { map: 'bytes' }), 4: p('immutable', 'bool') },
  'v1/Secret': { 1: kMetadataField, 2: f('data', { map: 'bytes' }), 3: f('type', 'string'), 4: f('stringData', { map: 'string' }), 5: p('immutable', 'bool') },
  'v1/Namespace': { 1: kMetadataField, 2: f('spec', msg(() => ({ 1: f('finalizers', 'string', true) }))), 3: f('status', msg(() => ({ 1: f('phase', 'string') }))) },
  'v1/ServiceAccount': {
    1: kMetadataField,
    2: f('secrets', msg(() => ({ 1: f('kind', 'string'), 2: f('namespace', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string') })), true),
    3: f('imagePullSecrets', msg(() => ({ 1: f('name', 'string') })), true),
    4: p('automountServiceAccountToken', 'bool'),
  },
  'autoscaling/v1/Scale': { 1: kMetadataField, 2: f('spec', msg(() => ({ 1: f('replicas', 'int') }))), 3: f('status', msg(() => ({ 1: f('replicas', 'int'), 2: f('selector', 'string') }))) },
  'apps/v1/Deployment': {
    1: kMetadataField,
    2: f(
      'spec',
      msg(() => ({
        1: p('replicas', 'int'),
        2: f('selector', msg(() => kLabelSelector)),
        3: f('template', msg(() => kPodTemplateSpec)),
        4: f('strategy', msg(() => ({ 1: f('type', 'string'), 2: f('rollingUpdate', msg(() => ({ 1: f('maxUnavailable', 'intOrString'), 2: f('maxSurge', 'intOrString') }))) }))),
        5: f('minReadySeconds', 'int'),
        6: p('revisionHistoryLimit', 'int'),
        7: f('paused', 'bool'),
        9: p('progressDeadlineSeconds', 'int'),
      })),
    ),
    3: f('status', msg(() => ({ 1: f('observedGeneration', 'int'), 2: f('replicas', 'int'), 3: f('updatedReplicas', 'int'), 4: f('availableReplicas', 'int'), 5: f('unavailableReplicas', 'int'), 7: f('readyReplicas', 'int') }))),
  },
};

/** Kinds whose protobuf bodies the simulator can read, as "apiVersion/Kind". */
export const kProtobufKinds = Object.keys(kKindSchemas);

class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) return result;
      mul *= 128;
    }
    throw new ProtobufError('varint too long');
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new ProtobufError('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new ProtobufError('truncated field');
  }
}

const utf8 = new TextDecoder();

function decodeMessage(buf: Uint8Array, schema: Schema): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    const num = Math.floor(tag / 8);
    const wire = tag & 7;
    const field = schema[num];
    if (!field) {
      r.skip(wire);
      continue;
    }
    const t = field.type;
    if (typeof t === 'object' && 'map' in t) {
      if (wire !== 2) throw new ProtobufError(`field ${field.name}: expected a map entry`);
      const entry = new Reader(r.bytes());
      let key = '';
      let value: unknown = t.map === 'string' ? '' : t.map === 'bytes' ? '' : undefined;
      while (entry.pos < entry.end) {
        const et = entry.varint();
        if (Math.floor(et / 8) === 1 && (et & 7) === 2) key = utf8.decode(entry.bytes());
        else if (Math.floor(et / 8) === 2 && (et & 7) === 2) value = scalarOrMessage(t.map, entry.bytes(), field.name);
        else entry.skip(et & 7);
      }
      const m = (out[field.name] ??= {}) as Record<string, unknown>;
      m[key] = value;
      continue;
    }
    let value: unknown;
    if (wire === 2) value = scalarOrMessage(t, r.bytes(), field.name);
    else if (wire === 0) {
      const v = r.varint();
      if (t === 'bool') value = v !== 0;
      else if (t === 'int') value = v > 0x7fffffff && v < 0x1_0000_0000 ? v - 0x1_0000_0000 : v;
      else throw new ProtobufError(`field ${field.name}: unexpected varint`);
    } else {
      r.skip(wire);
      continue;
    }
    if (value === undefined || (!field.ptr && (value === 0 || value === false))) continue;
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else out[field.name] = value;
  }
  return out;
}

function scalarOrMessage(t: FieldType, bytes: Uint8Array, name: string): unknown {
  if (t === 'string') {
    const s = utf8.decode(bytes);
    return s === '' ? undefined : s;
  }
  if (t === 'bytes') return Buffer.from(bytes).toString('base64');
  if (t === 'time') {
    const m = decodeMessage(bytes, { 1: f('seconds', 'int'), 2: f('nanos', 'int') });
    if (!m.seconds) return undefined;
    return new Date((m.seconds as number) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (t === 'quantity') return decodeMessage(bytes, { 1: f('string', 'string') }).string ?? '0';
  if (t === 'intOrString') {
    const m = decodeMessage(bytes, { 1: f('type', 'int'), 2: f('intVal', 'int'), 3: f('strVal', 'string') });
    return m.type === 1 ? (m.strVal ?? '') : (m.intVal ?? 0);
  }
  if (typeof t === 'object' && 'msg' in t) return decodeMessage(bytes, t.msg());
  throw new ProtobufError(`field ${name}: unexpected length-delimited value`);
}

const kMagic = [0x6b, 0x38, 0x73, 0x00];

/**
 * Decodes a Kubernetes protobuf body into the JSON object the same request would have carried.
 * Throws ProtobufError for a malformed body or a kind outside kProtobufKinds.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < 4 || kMagic.some((b, i) => body[i] !== b)) throw new ProtobufError('missing the k8s protobuf magic prefix');
  const unknown = decodeMessage(body.subarray(4), {
    1: f('typeMeta', msg(() => ({ 1: f('apiVersion', 'string'), 2: f('kind', 'string') }))),
    2: f('raw', 'bytes'),
  });
  const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const key = `${tm.apiVersion}/${tm.kind}`;
  const schema = kKindSchemas[key];
  if (!schema) throw new ProtobufError(`the simulator reads protobuf bodies only for ${kProtobufKinds.join(', ')}; got ${key} (send application/json instead)`);
  const raw = Buffer.from((unknown.raw as string | undefined) ?? '', 'base64');
  return { apiVersion: tm.apiVersion, kind: tm.kind, ...decodeMessage(raw, schema) };
}
