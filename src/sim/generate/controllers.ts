/**
 * The workload controllers' objects, each with the pods it owns: deployments (through an old and
 * a current replicaset, with a service, configmap, secret, serviceaccount and sometimes an
 * ingress), statefulsets (a PVC and PV per replica, a headless service), daemonsets (a pod per
 * node) and jobs (some through cronjobs).
 */
import { kAlnum, type GenContext, type Obj } from './context.js';
import type { SimNode } from './nodes.js';
import type { MakePod } from './pods.js';
import { labelsFor, serviceFor } from './services.js';

const kImages = ['nginx:1.27', 'redis:7.2', 'ghcr.io/example/api:2.4.1', 'busybox:1.36', 'postgres:16', 'ghcr.io/example/worker:1.9.0'];

export interface WorkloadEnv {
  ctx: GenContext;
  nodes: SimNode[];
  makePod: MakePod;
}

export function deployment(env: WorkloadEnv, ns: string, app: string, replicas: number, fixedImage?: string): void {
  const { ctx, makePod } = env;
  const { cluster, rnd, int, pick, rand, add, meta, owner } = ctx;
  const image = fixedImage ?? pick(kImages);
  const labels = labelsFor(ctx, app, ns);
  const hash = rand(10, kAlnum);
  const selector = { app };
  const dep = add('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(app, ns, labels, { generation: 1, annotations: { 'deployment.kubernetes.io/revision': '2' } }),
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: { metadata: { labels }, spec: { containers: [{ name: app, image, ports: [{ containerPort: 8080, protocol: 'TCP' }] }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {},
  });
  add('replicasets', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: meta(`${app}-${rand(10, kAlnum)}`, ns, { ...selector, 'pod-template-hash': rand(10, kAlnum) }, {
      ownerReferences: owner('apps/v1', 'Deployment', dep),
      annotations: { 'deployment.kubernetes.io/revision': '1' },
    }),
    spec: { replicas: 0, selector: { matchLabels: selector }, template: dep.spec.template },
    status: { replicas: 0, observedGeneration: 1 },
  });
  const rs = add('replicasets', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: meta(`${app}-${hash}`, ns, { ...labels, 'pod-template-hash': hash }, {
      ownerReferences: owner('apps/v1', 'Deployment', dep),
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    }),
    spec: { replicas, selector: { matchLabels: { ...selector, 'pod-template-hash': hash } }, template: dep.spec.template },
    status: {},
  });
  const pods: Obj[] = [];
  for (let i = 0; i < replicas; i++) {
    pods.push(makePod(`${app}-${hash}-${rand(5, kAlnum)}`, ns, { ...labels, 'pod-template-hash': hash }, owner('apps/v1', 'ReplicaSet', rs), image, {}));
  }
  const readyCount = pods.filter((p) => p.status.containerStatuses?.[0]?.ready).length;
  const st = { observedGeneration: 1, replicas, readyReplicas: readyCount, availableReplicas: readyCount, updatedReplicas: replicas };
  rs.status = { replicas, readyReplicas: readyCount, availableReplicas: readyCount, fullyLabeledReplicas: replicas, observedGeneration: 1 };
  dep.status = {
    ...st,
    unavailableReplicas: replicas - readyCount || undefined,
    conditions: [
      { type: 'Available', status: readyCount === replicas ? 'True' : 'False', reason: readyCount === replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    ],
  };
  serviceFor(ctx, app, ns, selector, pods);
  add('configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(`${app}-config`, ns, { app }),
    data: { 'LOG_LEVEL': pick(['info', 'debug', 'warn']), 'APP_NAME': app, 'config.yaml': `app: ${app}\nnamespace: ${ns}\ncluster: ${cluster}\n` },
  });
  add('secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: meta(`${app}-credentials`, ns, { app }),
    data: { username: Buffer.from(app).toString('base64'), password: Buffer.from(rand(16, kAlnum)).toString('base64') },
  });
  add('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(app, ns, { app }) });
  if (rnd() < 0.4) {
    const host = `${app}.${ns}.${cluster}.example.test`;
    add('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: meta(`${app}-tls`, ns, { app }),
      data: { 'tls.crt': Buffer.from('simulated certificate').toString('base64'), 'tls.key': Buffer.from('simulated key').toString('base64') },
    });
    add('ingresses', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(app, ns, { app }),
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: [host], secretName: `${app}-tls` }],
        rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: app, port: { number: 80 } } } }] } }],
      },
      status: { loadBalancer: { ingress: [{ ip: `203.0.113.${1 + int(254)}` }] } },
    });
  }
}

export function statefulset(env: WorkloadEnv, ns: string, app: string, replicas: number): void {
  const { ctx, makePod } = env;
  const { pick, rand, uid, add, meta, owner } = ctx;
  const image = pick(['postgres:16', 'redis:7.2']);
  const labels = labelsFor(ctx, app, ns);
  const selector = { app };
  const sts = add('statefulsets', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(app, ns, labels, { generation: 1 }),
    spec: {
      replicas,
      serviceName: app,
      selector: { matchLabels: selector },
      template: { metadata: { labels }, spec: { containers: [{ name: app, image }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } }],
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate' },
    },
    status: {},
  });
  const rev = `${app}-${rand(10, kAlnum)}`;
  const pods: Obj[] = [];
  for (let i = 0; i < replicas; i++) {
    pods.push(
      makePod(`${app}-${i}`, ns, { ...labels, 'controller-revision-hash': rev, 'statefulset.kubernetes.io/pod-name': `${app}-${i}` }, owner('apps/v1', 'StatefulSet', sts), image, {}),
    );
    const pvName = `pvc-${uid()}`;
    const pvcName = `data-${app}-${i}`;
    const pvc = add('persistentvolumeclaims', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(pvcName, ns, { app }),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'standard', volumeName: pvName, volumeMode: 'Filesystem' },
      status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } },
    });
    add('persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: meta(pvName, undefined, undefined, { annotations: { 'pv.kubernetes.io/provisioned-by': 'sim.csi.fleetgate.dev' } }),
      spec: {
        capacity: { storage: '10Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'standard',
        volumeMode: 'Filesystem',
        claimRef: { kind: 'PersistentVolumeClaim', namespace: ns, name: pvcName, uid: pvc.metadata.uid, apiVersion: 'v1' },
        csi: { driver: 'sim.csi.fleetgate.dev', volumeHandle: pvName },
      },
      status: { phase: 'Bound' },
    });
  }
  const readyCount = pods.filter((p) => p.status.containerStatuses?.[0]?.ready).length;
  sts.status = { observedGeneration: 1, replicas, readyReplicas: readyCount, availableReplicas: readyCount, currentReplicas: replicas, updatedReplicas: replicas, currentRevision: rev, updateRevision: rev };
  serviceFor(ctx, app, ns, selector, pods, true);
}

/** Returns the number of pods it made: one per node, up to max. */
export function daemonset(env: WorkloadEnv, ns: string, app: string, max: number): number {
  const { ctx, makePod, nodes } = env;
  const { pick, rand, add, meta, owner } = ctx;
  const image = pick(kImages);
  const labels = labelsFor(ctx, app, ns);
  const ds = add('daemonsets', {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(app, ns, labels, { generation: 1 }),
    spec: { selector: { matchLabels: { app } }, template: { metadata: { labels }, spec: { containers: [{ name: app, image }] } }, updateStrategy: { type: 'RollingUpdate' } },
    status: {},
  });
  const n = Math.min(max, nodes.length);
  let readyCount = 0;
  for (let i = 0; i < n; i++) {
    const p = makePod(`${app}-${rand(5, kAlnum)}`, ns, { ...labels, 'controller-revision-hash': rand(10, kAlnum) }, owner('apps/v1', 'DaemonSet', ds), image, { forceNode: nodes[i] });
    if (p.status.containerStatuses?.[0]?.ready) readyCount++;
  }
  ds.status = { currentNumberScheduled: n, desiredNumberScheduled: nodes.length, numberReady: readyCount, numberAvailable: readyCount, updatedNumberScheduled: n, numberMisscheduled: 0, observedGeneration: 1 };
  return n;
}

/** A job and its one pod; six in ten belong to a cronjob. */
export function job(env: WorkloadEnv, ns: string, app: string): void {
  const { ctx, makePod } = env;
  const { rnd, int, pick, rand, ts, add, meta, owner } = ctx;
  const image = 'busybox:1.36';
  let ownerRefs: Obj[] | undefined;
  let jobName = `${app}-${rand(5, kAlnum)}`;
  if (rnd() < 0.6) {
    const cj = add('cronjobs', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta(`${app}`, ns, { app }),
      spec: {
        schedule: pick(['*/15 * * * *', '0 * * * *', '0 3 * * *']),
        concurrencyPolicy: 'Forbid',
        suspend: false,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 1,
        jobTemplate: { spec: { template: { spec: { containers: [{ name: app, image }], restartPolicy: 'Never' } } } },
      },
      status: { lastScheduleTime: ts(0) },
    });
    ownerRefs = owner('batch/v1', 'CronJob', cj);
    jobName = `${app}-${29000000 + int(100000)}`;
  }
  const j = add('jobs', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(jobName, ns, { app, 'job-name': jobName }, ownerRefs ? { ownerReferences: ownerRefs } : {}),
    spec: { completions: 1, parallelism: 1, backoffLimit: 6, template: { spec: { containers: [{ name: app, image }], restartPolicy: 'Never' } } },
    status: {},
  });
  const p = makePod(`${jobName}-${rand(5, kAlnum)}`, ns, { app, 'job-name': jobName, 'batch.kubernetes.io/job-name': jobName }, owner('batch/v1', 'Job', j), image, { job: true });
  const ok = p.status.phase === 'Succeeded';
  j.status = ok
    ? { succeeded: 1, startTime: p.metadata.creationTimestamp, completionTime: p.metadata.creationTimestamp, conditions: [{ type: 'Complete', status: 'True' }] }
    : { failed: 1, startTime: p.metadata.creationTimestamp, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] };
}
