/**
 * Pods and their events. A pod's phase is drawn (Running, Pending, Succeeded, Failed, Unknown;
 * job pods only Succeeded or Failed; pods on a NotReady node Unknown), some running ones crash
 * loop, some pending ones are unschedulable (no spec.nodeName). Pods that are not happily
 * running get the event that says why.
 */
import { kHex, type GenContext, type Obj } from './context.js';
import type { SimNode } from './nodes.js';

export interface PodOptions {
  /** Schedule here (daemonsets) instead of on a random ready node. */
  forceNode?: SimNode;
  job?: boolean;
  sa?: string;
}

export type MakePod = (name: string, ns: string, labels: Record<string, string>, ownerRefs: Obj[], image: string, opts: PodOptions) => Obj;

/** A pod factory for one cluster: pod IPs are handed out in sequence across all its pods. */
export function podMaker(ctx: GenContext, nodes: SimNode[]): MakePod {
  const { rnd, int, pick, rand, ts, add, meta } = ctx;
  const readyNodes = nodes.filter((n) => n.ready);
  let ipSeq = 0;
  const podIp = () => {
    ipSeq++;
    return `10.244.${Math.floor(ipSeq / 250) % 256}.${(ipSeq % 250) + 2}`;
  };
  return (name, ns, labels, ownerRefs, image, opts) => {
    const r = rnd();
    let phase: string;
    let node: SimNode | undefined = opts.forceNode ?? (readyNodes.length ? pick(readyNodes) : pick(nodes));
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
          imageID: `docker.io/library/${image}@sha256:${rand(64, kHex)}`,
          containerID: phase === 'Pending' ? undefined : `containerd://${rand(64, kHex)}`,
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
        metadata: meta(`${name}.${rand(16, kHex)}`, ns),
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
}
