/**
 * Server-side printing: the meta.k8s.io/v1 Table kubectl asks for on `kubectl get`
 * (Accept: application/json;as=Table;v=v1;g=meta.k8s.io). Columns follow the API server's
 * printers for the common kinds and fall back to NAME, AGE.
 */
import type { ResourceDef } from './resources.js';
import type { Obj } from './generate.js';

interface Column {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  description?: string;
}

/** Kubernetes' duration.HumanDuration, as kubectl shows ages. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(o: Obj): string {
  const t = Date.parse(o.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
}

function podStatus(p: Obj): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  let reason: string = p.status?.reason ?? p.status?.phase ?? 'Unknown';
  for (const cs of p.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting?.reason;
    const t = cs.state?.terminated?.reason;
    if (w) reason = w;
    else if (t && reason !== 'Evicted') reason = t;
  }
  return reason;
}

type Printer = { columns: Column[]; cells: (o: Obj) => unknown[] };

const kNameColumn: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const kAgeColumn: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp of the object.' };
const col = (name: string, priority = 0, type = 'string'): Column => ({ name, type, priority });

const kPrinters: Record<string, Printer> = {
  namespaces: { columns: [kNameColumn, col('Status'), kAgeColumn], cells: (o) => [o.metadata.name, o.status?.phase ?? 'Active', age(o)] },
  nodes: {
    columns: [kNameColumn, col('Status'), col('Roles'), kAgeColumn, col('Version'), col('Internal-IP', 1), col('OS-Image', 1), col('Kernel-Version', 1), col('Container-Runtime', 1)],
    cells: (o) => {
      const ready = (o.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : 'NotReady';
      if (o.spec?.unschedulable) status += ',SchedulingDisabled';
      const roles = Object.keys(o.metadata.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      const ip = (o.status?.addresses ?? []).find((a: Obj) => a.type === 'InternalIP')?.address ?? '<none>';
      const info = o.status?.nodeInfo ?? {};
      return [o.metadata.name, status, roles.length ? roles.join(',') : '<none>', age(o), info.kubeletVersion ?? '', ip, info.osImage ?? '', info.kernelVersion ?? '', info.containerRuntimeVersion ?? ''];
    },
  },
  pods: {
    columns: [kNameColumn, col('Ready'), col('Status'), col('Restarts', 0, 'string'), kAgeColumn, col('IP', 1), col('Node', 1), col('Nominated Node', 1), col('Readiness Gates', 1)],
    cells: (o) => {
      const cs: Obj[] = o.status?.containerStatuses ?? [];
      const total = (o.spec?.containers ?? []).length;
      const ready = cs.filter((c) => c.ready).length;
      const restarts = cs.reduce((n, c) => n + (c.restartCount ?? 0), 0);
      return [o.metadata.name, `${ready}/${total}`, podStatus(o), String(restarts), age(o), o.status?.podIP ?? '<none>', o.spec?.nodeName ?? '<none>', '<none>', '<none>'];
    },
  },
  deployments: {
    columns: [kNameColumn, col('Ready'), col('Up-to-date', 0, 'integer'), col('Available', 0, 'integer'), kAgeColumn, col('Containers', 1), col('Images', 1), col('Selector', 1)],
    cells: (o) => [
      o.metadata.name,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
      o.status?.updatedReplicas ?? 0,
      o.status?.availableReplicas ?? 0,
      age(o),
      (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.name).join(','),
      (o.spec?.template?.spec?.containers ?? []).map((c: Obj) => c.image).join(','),
      Object.entries(o.spec?.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ],
  },
  replicasets: {
    columns: [kNameColumn, col('Desired', 0, 'integer'), col('Current', 0, 'integer'), col('Ready', 0, 'integer'), kAgeColumn],
    cells: (o) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o)],
  },
  statefulsets: {
    columns: [kNameColumn, col('Ready'), kAgeColumn],
    cells: (o) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, age(o)],
  },
  daemonsets: {
    columns: [kNameColumn, col('Desired', 0, 'integer'), col('Current', 0, 'integer'), col('Ready', 0, 'integer'), col('Up-to-date', 0, 'integer'), col('Available', 0, 'integer'), col('Node Selector'), kAgeColumn],
    cells: (o) => {
      const s = o.status ?? {};
      return [o.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0, '<none>', age(o)];
    },
  },
  services: {
    columns: [kNameColumn, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), kAgeColumn, col('Selector', 1)],
    cells: (o) => [
      o.metadata.name,
      o.spec?.type ?? 'ClusterIP',
      o.spec?.clusterIP ?? '<none>',
      (o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname).join(',') || (o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>'),
      (o.spec?.ports ?? []).map((p: Obj) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>',
      age(o),
      Object.entries(o.spec?.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '<none>',
    ],
  },
  configmaps: { columns: [kNameColumn, col('Data', 0, 'integer'), kAgeColumn], cells: (o) => [o.metadata.name, Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o)] },
  secrets: { columns: [kNameColumn, col('Type'), col('Data', 0, 'integer'), kAgeColumn], cells: (o) => [o.metadata.name, o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o)] },
  jobs: {
    columns: [kNameColumn, col('Status'), col('Completions'), col('Duration'), kAgeColumn],
    cells: (o) => [o.metadata.name, o.status?.succeeded ? 'Complete' : o.status?.failed ? 'Failed' : 'Running', `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`, '1s', age(o)],
  },
  cronjobs: {
    columns: [kNameColumn, col('Schedule'), col('Timezone'), col('Suspend'), col('Active', 0, 'integer'), col('Last Schedule'), kAgeColumn],
    cells: (o) => [o.metadata.name, o.spec?.schedule ?? '', '<none>', String(!!o.spec?.suspend), 0, o.status?.lastScheduleTime ? humanDuration(Date.now() - Date.parse(o.status.lastScheduleTime)) : '<none>', age(o)],
  },
  persistentvolumeclaims: {
    columns: [kNameColumn, col('Status'), col('Volume'), col('Capacity'), col('Access Modes'), col('StorageClass'), kAgeColumn],
    cells: (o) => [o.metadata.name, o.status?.phase ?? 'Pending', o.spec?.volumeName ?? '', o.status?.capacity?.storage ?? '', 'RWO', o.spec?.storageClassName ?? '', age(o)],
  },
  events: {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
    cells: (o) => [o.lastTimestamp ? humanDuration(Date.now() - Date.parse(o.lastTimestamp)) : '<unknown>', o.type ?? '', o.reason ?? '', `${(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`, o.message ?? ''],
  },
};

const kDefaultPrinter: Printer = { columns: [kNameColumn, kAgeColumn], cells: (o) => [o.metadata.name, age(o)] };

export interface TableOptions {
  /** includeObject query parameter: None, Metadata (default) or Object. */
  includeObject?: string | null;
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

/** Builds the Table JSON for parsed objects of one kind. */
export function tableJson(def: ResourceDef, objects: Obj[], opts: TableOptions): string {
  const p = kPrinters[def.plural] ?? kDefaultPrinter;
  const include = opts.includeObject ?? 'Metadata';
  const rows = objects.map((o) => {
    const row: Obj = { cells: p.cells(o) };
    if (include === 'Object') row.object = o;
    else if (include !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
    return row;
  });
  const metadata: Obj = { resourceVersion: opts.resourceVersion };
  if (opts.continueToken) metadata.continue = opts.continueToken;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return JSON.stringify({
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: p.columns.map((c) => ({ name: c.name, type: c.type ?? 'string', format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    rows,
  });
}
