/**
 * Deterministic object generation for one simulated cluster. The same (seed, cluster name,
 * pod count, version) always yields the same objects, names, labels, uids and timestamps.
 *
 * Shape of a generated cluster with P pods:
 * - namespaces: default, kube-system, kube-public, kube-node-lease and max(2, ceil(P/50)) app
 *   namespaces (capped at 40);
 * - nodes: clamp(ceil(P/25), 3, 500), node-001 is the control plane; about one in eight is
 *   NotReady (at least one once there are 3 or more nodes);
 * - exactly P pods, owned by deployments (through replicasets), statefulsets, daemonsets and
 *   jobs (through cronjobs for some), in the phases Running, Pending, Succeeded, Failed and
 *   Unknown; scheduled pods carry spec.nodeName;
 * - per workload a service and endpoints (deployments, statefulsets), a configmap and a secret
 *   (deployments), ingresses for some deployments, PVCs and PVs for statefulset replicas;
 * - per namespace the default serviceaccount, the kube-root-ca.crt configmap, a role and binding;
 * - events for pods that are not happily running;
 * - cluster-wide: clusterroles, clusterrolebindings, storageclasses and CRDs.
 * Every object is annotated `fleetgate.dev/cluster: NAME` by the store on insert.
 */

export type Obj = Record<string, any>;

export interface GeneratedObject {
  /** Resource plural, e.g. "pods" or "deployments". */
  key: string;
  obj: Obj;
}

/** Fixed epoch for creation timestamps, so objects are the same from run to run. */
export const SIM_EPOCH_MS = Date.UTC(2025, 0, 1);

export function hashString(s: string): number {
  // FNV-1a 32-bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for test data. */
export function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const APP_NAMESPACES = ['web', 'data', 'payments', 'search', 'monitoring', 'checkout', 'identity', 'media', 'analytics', 'messaging'];
const APP_NAMES = ['api', 'frontend', 'worker', 'cache', 'gateway', 'auth', 'billing', 'catalog', 'notifier', 'scheduler', 'indexer', 'reporter', 'uploader', 'proxy', 'ledger'];
const IMAGES = ['nginx:1.27', 'redis:7.2', 'ghcr.io/example/api:2.4.1', 'busybox:1.36', 'postgres:16', 'ghcr.io/example/worker:1.9.0'];
const HEX = '0123456789abcdef';
const ALNUM = 'bcdfghjklmnpqrstvwxz2456789';

export function generateCluster(cluster: string, seed: number, podCount: number, gitVersion: string): GeneratedObject[] {
  const rnd = rngFrom(hashString(`${seed}:${cluster}`));
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)];
  const rand = (n: number, alphabet: string) => {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)];
    return s;
  };
  const uid = () => `${rand(8, HEX)}-${rand(4, HEX)}-4${rand(3, HEX)}-a${rand(3, HEX)}-${rand(12, HEX)}`;
  let clock = SIM_EPOCH_MS;
  const ts = (advanceMin = 0) => {
    clock += advanceMin * 60_000 + int(60_000);
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  const out: GeneratedObject[] = [];
  const add = (key: string, obj: Obj) => {
    out.push({ key, obj });
    return obj;
  };
  const meta = (name: string, namespace?: string, labels?: Record<string, string>, extra: Obj = {}): Obj => {
    const m: Obj = { name };
    if (namespace !== undefined) m.namespace = namespace;
    m.uid = uid();
    m.creationTimestamp = ts(1);
    if (labels && Object.keys(labels).length) m.labels = labels;
    return Object.assign(m, extra);
  };
  const owner = (apiVersion: string, kind: string, o: Obj) => [
    { apiVersion, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true },
  ];

  // Namespaces.
  const appNsCount = Math.min(40, Math.max(2, Math.ceil(podCount / 50)));
  const appNamespaces = Array.from({ length: appNsCount }, (_, i) => (i < APP_NAMESPACES.length ? APP_NAMESPACES[i] : `apps-${i + 1}`));
  const namespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease', ...appNamespaces];
  for (const ns of namespaces) {
    add('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta(ns, undefined, { 'kubernetes.io/metadata.name': ns }),
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  // Nodes.
  const nodeCount = Math.min(500, Math.max(3, Math.ceil(podCount / 25)));
  const nodes: { name: string; ready: boolean; ip: string; index: number }[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `node-${String(i + 1).padStart(3, '0')}`;
    const ready = !(i > 0 && (rnd() < 0.125 || (nodeCount >= 3 && i === nodeCount - 1 && nodes.every((n) => n.ready))));
    const ip = `10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`;
    nodes.push({ name, ready, ip, index: i });
    const zone = `zone-${'abc'[i % 3]}`;
    const labels: Record<string, string> = {
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'topology.kubernetes.io/zone': zone,
    };
    if (i === 0) labels['node-role.kubernetes.io/control-plane'] = '';
    const hb = ts(0);
    const spec: Obj = { podCIDR: `10.244.${i}.0/24`, podCIDRs: [`10.244.${i}.0/24`], providerID: `sim://${cluster}/${name}` };
    if (!ready) {
      spec.taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: hb }];
    }
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: hb,
      lastTransitionTime: hb,
    });
    add('nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: meta(name, undefined, labels),
      spec,
      status: {
        capacity: { cpu: '4', memory: '16393216Ki', pods: '110', 'ephemeral-storage': '101203948Ki' },
        allocatable: { cpu: '3800m', memory: '15242240Ki', pods: '110', 'ephemeral-storage': '93270406214' },
        conditions: ready
          ? [
              cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
              cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
              cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
              cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
            ]
          : [
              cond('MemoryPressure', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'),
              cond('DiskPressure', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'),
              cond('PIDPressure', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'),
              cond('Ready', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'),
            ],
        addresses: [
          { type: 'InternalIP', address: ip },
          { type: 'Hostname', address: name },
        ],
        nodeInfo: {
          architecture: 'amd64',
          operatingSystem: 'linux',
          osImage: 'Ubuntu 22.04.4 LTS',
          kernelVersion: '6.5.0-1020-sim',
          containerRuntimeVersion: 'containerd://1.7.13',
          kubeletVersion: gitVersion,
          kubeProxyVersion: gitVersion,
        },
      },
    });
  }
  const readyNodes = nodes.filter((n) => n.ready);

  // Per-namespace basics.
  for (const ns of namespaces) {
    add('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default', ns) });
    add('configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('kube-root-ca.crt', ns, undefined, { annotations: { 'kubernetes.io/description': 'Contains a CA bundle for this cluster.' } }),
      data: { 'ca.crt': `-----BEGIN CERTIFICATE-----\nsimulated CA of ${cluster}\n-----END CERTIFICATE-----\n` },
    });
  }
  for (const ns of appNamespaces) {
    const role = add('roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(`${ns}-developer`, ns),
      rules: [
        { apiGroups: ['', 'apps', 'batch'], resources: ['pods', 'deployments', 'jobs', 'configmaps', 'services'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      ],
    });
    add('rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${ns}-developers`, ns),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `${ns}-team` }],
    });
  }

  // Workloads and pods.
  let podsLeft = podCount;
  let podSeq = 0;
  let ipSeq = 0;
  const podIp = () => {
    ipSeq++;
    return `10.244.${Math.floor(ipSeq / 250) % 256}.${(ipSeq % 250) + 2}`;
  };
  const makePod = (
    name: string,
    ns: string,
    labels: Record<string, string>,
    ownerRefs: Obj[],
    image: string,
    opts: { forceNode?: (typeof nodes)[number]; job?: boolean; sa?: string },
  ) => {
    podSeq++;
    const r = rnd();
    let phase: string;
    let node: (typeof nodes)[number] | undefined = opts.forceNode ?? (readyNodes.length ? pick(readyNodes) : pick(nodes));
    if (opts.job) phase = r < 0.8 ? 'Succeeded' : 'Failed';
    else if (!node.ready) phase = 'Unknown';
    else if (r < 0.82) phase = 'Running';
    else if (r < 0.9) phase = 'Pending';
    else if (r < 0.95) phase = 'Failed';
    else if (r < 0.98) phase = 'Succeeded';
    else phase = 'Unknown';
    // Some pending pods could not be scheduled at all: no spec.nodeName.
    const unscheduled = phase === 'Pending' && !opts.forceNode && rnd() < 0.5;
    if (unscheduled) node = undefined;
    const created = ts(0);
    const containerName = labels.app ?? name.split('-')[0];
    const crashLoop = phase === 'Running' && rnd() < 0.06;
    const restarts = crashLoop ? 3 + int(40) : rnd() < 0.1 ? 1 + int(3) : 0;
    const ready = phase === 'Running' && !crashLoop;
    let state: Obj;
    if (phase === 'Running' && !crashLoop) state = { running: { startedAt: created } };
    else if (crashLoop) state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off 5m0s restarting failed container=${containerName}` } };
    else if (phase === 'Pending') state = { waiting: { reason: unscheduled ? 'PodInitializing' : 'ContainerCreating' } };
    else if (phase === 'Succeeded') state = { terminated: { exitCode: 0, reason: 'Completed', startedAt: created, finishedAt: created } };
    else if (phase === 'Failed') state = { terminated: { exitCode: 1, reason: 'Error', startedAt: created, finishedAt: created } };
    else state = { waiting: { reason: 'Unknown' } };
    const status: Obj = { phase, qosClass: 'Burstable' };
    const condition = (type: string, st: boolean, reason?: string, message?: string) => {
      const c: Obj = { type, status: st ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: created };
      if (reason) c.reason = reason;
      if (message) c.message = message;
      return c;
    };
    if (unscheduled) {
      status.conditions = [condition('PodScheduled', false, 'Unschedulable', `0/${nodes.length} nodes are available: insufficient cpu.`)];
    } else {
      status.hostIP = node!.ip;
      status.hostIPs = [{ ip: node!.ip }];
      status.startTime = created;
      if (phase !== 'Pending') {
        const ip = podIp();
        status.podIP = ip;
        status.podIPs = [{ ip }];
      }
      status.conditions = [
        condition('Initialized', true),
        condition('Ready', ready, ready ? undefined : 'ContainersNotReady'),
        condition('ContainersReady', ready, ready ? undefined : 'ContainersNotReady'),
        condition('PodScheduled', true),
      ];
      status.containerStatuses = [
        {
          name: containerName,
          image,
          imageID: `docker.io/library/${image}@sha256:${rand(64, HEX)}`,
          containerID: phase === 'Pending' ? undefined : `containerd://${rand(64, HEX)}`,
          ready,
          started: phase === 'Running' && !crashLoop,
          restartCount: restarts,
          state,
        },
      ];
      if (phase === 'Failed' && !opts.job) {
        status.reason = 'Evicted';
        status.message = 'The node was low on resource: memory.';
      }
    }
    const spec: Obj = {
      containers: [
        {
          name: containerName,
          image,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          imagePullPolicy: 'IfNotPresent',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      restartPolicy: opts.job ? 'Never' : 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: opts.sa ?? 'default',
      serviceAccount: opts.sa ?? 'default',
      schedulerName: 'default-scheduler',
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    };
    if (node) spec.nodeName = node.name;
    const pod = add('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta(name, ns, labels), creationTimestamp: created, ownerReferences: ownerRefs },
      spec,
      status,
    });
    if (phase !== 'Running' || crashLoop) {
      const reason = unscheduled
        ? 'FailedScheduling'
        : crashLoop
          ? 'BackOff'
          : phase === 'Pending'
            ? 'Pulling'
            : phase === 'Failed'
              ? opts.job
                ? 'BackoffLimitExceeded'
                : 'Evicted'
              : phase === 'Succeeded'
                ? 'Completed'
                : 'NodeNotReady';
      const warn = phase !== 'Succeeded' && reason !== 'Pulling';
      add('events', {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: meta(`${name}.${rand(16, HEX)}`, ns),
        involvedObject: { kind: 'Pod', namespace: ns, name, uid: pod.metadata.uid, apiVersion: 'v1' },
        reason,
        message: unscheduled ? `0/${nodes.length} nodes are available: insufficient cpu.` : `${reason} for pod ${name}`,
        source: { component: unscheduled ? 'default-scheduler' : 'kubelet', host: node?.name },
        firstTimestamp: created,
        lastTimestamp: created,
        count: crashLoop ? restarts : 1,
        type: warn ? 'Warning' : 'Normal',
        eventTime: null,
        reportingComponent: unscheduled ? 'default-scheduler' : 'kubelet',
        reportingInstance: node?.name ?? '',
      });
    }
    return pod;
  };

  const labelsFor = (app: string, ns: string, extra: Record<string, string> = {}) => ({
    app,
    'app.kubernetes.io/name': app,
    'app.kubernetes.io/part-of': ns,
    tier: app.includes('frontend') || app.includes('gateway') ? 'frontend' : 'backend',
    env: pick(['prod', 'prod', 'staging', 'dev']),
    ...extra,
  });
  const serviceFor = (app: string, ns: string, selector: Record<string, string>, pods: Obj[], headless = false) => {
    const clusterIP = headless ? 'None' : `10.96.${int(256)}.${1 + int(254)}`;
    const type = !headless && rnd() < 0.15 ? 'LoadBalancer' : 'ClusterIP';
    const svc: Obj = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(app, ns, { app }),
      spec: {
        type,
        clusterIP,
        clusterIPs: [clusterIP],
        selector,
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
      },
      status: { loadBalancer: type === 'LoadBalancer' ? { ingress: [{ ip: `203.0.113.${1 + int(254)}` }] } : {} },
    };
    add('services', svc);
    const ready = pods.filter((p) => p.status.phase === 'Running' && p.status.containerStatuses?.[0]?.ready && p.status.podIP);
    const notReady = pods.filter((p) => !ready.includes(p) && p.status.podIP);
    const subset: Obj = { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] };
    const addr = (p: Obj) => ({
      ip: p.status.podIP,
      nodeName: p.spec.nodeName,
      targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
    });
    if (ready.length) subset.addresses = ready.map(addr);
    if (notReady.length) subset.notReadyAddresses = notReady.map(addr);
    add('endpoints', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: meta(app, ns, { app }),
      subsets: ready.length || notReady.length ? [subset] : [],
    });
    return svc;
  };

  add('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('kubernetes', 'default', { component: 'apiserver', provider: 'kubernetes' }),
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, targetPort: 6443, protocol: 'TCP' }],
      sessionAffinity: 'None',
    },
    status: { loadBalancer: {} },
  });

  let workloadSeq = 0;
  let cronSeq = 0;
  const deployment = (ns: string, app: string, replicas: number, fixedImage?: string) => {
    const image = fixedImage ?? pick(IMAGES);
    const labels = labelsFor(app, ns);
    const hash = rand(10, ALNUM);
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
      metadata: meta(`${app}-${rand(10, ALNUM)}`, ns, { ...selector, 'pod-template-hash': rand(10, ALNUM) }, {
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
      pods.push(makePod(`${app}-${hash}-${rand(5, ALNUM)}`, ns, { ...labels, 'pod-template-hash': hash }, owner('apps/v1', 'ReplicaSet', rs), image, {}));
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
    serviceFor(app, ns, selector, pods);
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
      data: { username: Buffer.from(app).toString('base64'), password: Buffer.from(rand(16, ALNUM)).toString('base64') },
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
  };
  const statefulset = (ns: string, app: string, replicas: number) => {
    const image = pick(['postgres:16', 'redis:7.2']);
    const labels = labelsFor(app, ns);
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
    const rev = `${app}-${rand(10, ALNUM)}`;
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
    serviceFor(app, ns, selector, pods, true);
  };
  const daemonset = (ns: string, app: string, max: number) => {
    const image = pick(IMAGES);
    const labels = labelsFor(app, ns);
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
      const p = makePod(`${app}-${rand(5, ALNUM)}`, ns, { ...labels, 'controller-revision-hash': rand(10, ALNUM) }, owner('apps/v1', 'DaemonSet', ds), image, { forceNode: nodes[i] });
      if (p.status.containerStatuses?.[0]?.ready) readyCount++;
    }
    ds.status = { currentNumberScheduled: n, desiredNumberScheduled: nodes.length, numberReady: readyCount, numberAvailable: readyCount, updatedNumberScheduled: n, numberMisscheduled: 0, observedGeneration: 1 };
    return n;
  };
  const job = (ns: string, app: string) => {
    const image = 'busybox:1.36';
    let ownerRefs: Obj[] | undefined;
    let jobName = `${app}-${rand(5, ALNUM)}`;
    if (rnd() < 0.6) {
      cronSeq++;
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
    const p = makePod(`${jobName}-${rand(5, ALNUM)}`, ns, { app, 'job-name': jobName, 'batch.kubernetes.io/job-name': jobName }, owner('batch/v1', 'Job', j), image, { job: true });
    const ok = p.status.phase === 'Succeeded';
    j.status = ok
      ? { succeeded: 1, startTime: p.metadata.creationTimestamp, completionTime: p.metadata.creationTimestamp, conditions: [{ type: 'Complete', status: 'True' }] }
      : { failed: 1, startTime: p.metadata.creationTimestamp, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] };
  };

  // kube-system first: coredns and kube-proxy, when the pod budget allows.
  if (podsLeft >= 2) {
    deployment('kube-system', 'coredns', 2);
    podsLeft -= 2;
  }
  if (podsLeft >= nodes.length + 4) {
    podsLeft -= daemonset('kube-system', 'kube-proxy', nodes.length);
  }
  // An nginx Deployment in the first app namespace, so the README's examples (fleet search for
  // "nginx", `kubectl exec -n web deploy/nginx`) find something on every cluster with room. It is
  // generated after the other workloads so that their names stay what they were.
  const nginxReplicas = podsLeft >= 6 ? 2 : 0;
  podsLeft -= nginxReplicas;
  const used = new Map<string, number>();
  const appName = (ns: string) => {
    const base = APP_NAMES[int(APP_NAMES.length)];
    const key = `${ns}/${base}`;
    const n = (used.get(key) ?? 0) + 1;
    used.set(key, n);
    return n === 1 ? base : `${base}-${n}`;
  };
  while (podsLeft > 0) {
    workloadSeq++;
    const ns = appNamespaces[workloadSeq % appNamespaces.length];
    const kind = workloadSeq % 7;
    if (kind === 3) {
      const r = Math.min(podsLeft, 1 + int(3));
      statefulset(ns, appName(ns), r);
      podsLeft -= r;
    } else if (kind === 5) {
      job(ns, `${appName(ns)}-job`);
      podsLeft -= 1;
    } else if (kind === 6 && podsLeft >= nodes.length && workloadSeq < 50) {
      podsLeft -= daemonset(ns, `${appName(ns)}-agent`, nodes.length);
    } else {
      const r = Math.min(podsLeft, 1 + int(4));
      deployment(ns, appName(ns), r);
      podsLeft -= r;
    }
  }
  if (nginxReplicas) deployment(appNamespaces[0]!, 'nginx', nginxReplicas, 'nginx:1.27');
  void cronSeq;

  // Cluster-wide objects.
  for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:node', 'system:controller:deployment-controller']) {
    add('clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(name, undefined, { 'kubernetes.io/bootstrapping': 'rbac-defaults' }),
      rules:
        name === 'cluster-admin'
          ? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]
          : [{ apiGroups: ['', 'apps', 'batch'], resources: ['pods', 'deployments', 'jobs'], verbs: name === 'view' ? ['get', 'list', 'watch'] : ['*'] }],
    });
  }
  for (const [name, role, subject] of [
    ['cluster-admin', 'cluster-admin', { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:masters' }],
    ['system:node', 'system:node', { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
    ['fleetgate-viewers', 'view', { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `viewer@${cluster}` }],
  ] as const) {
    add('clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(name, undefined, { 'kubernetes.io/bootstrapping': 'rbac-defaults' }),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [subject],
    });
  }
  add('storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: meta('standard', undefined, undefined, { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }),
    provisioner: 'sim.csi.fleetgate.dev',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
  });
  add('storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: meta('fast-ssd', undefined),
    provisioner: 'sim.csi.fleetgate.dev',
    parameters: { type: 'ssd' },
    reclaimPolicy: 'Retain',
    volumeBindingMode: 'Immediate',
  });
  for (const [group, plural, kind] of [
    ['example.fleetgate.dev', 'widgets', 'Widget'],
    ['cert-manager.io', 'certificates', 'Certificate'],
    ['monitoring.coreos.com', 'servicemonitors', 'ServiceMonitor'],
  ] as const) {
    add('customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: meta(`${plural}.${group}`, undefined),
      spec: {
        group,
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
      status: { acceptedNames: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` }, storedVersions: ['v1'], conditions: [{ type: 'Established', status: 'True' }] },
    });
  }
  return out;
}
