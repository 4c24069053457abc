/**
 * Nodes: clamp(ceil(pods/25), 3, 500) of them, node-001 the control plane; about one in eight is
 * NotReady, and at least one once there are three or more.
 */
import type { GenContext, Obj } from './context.js';

export interface SimNode {
  name: string;
  ready: boolean;
  ip: string;
}

export function generateNodes(ctx: GenContext, podCount: number): SimNode[] {
  const { cluster, gitVersion, rnd, ts, add, meta } = ctx;
  const nodeCount = Math.min(500, Math.max(3, Math.ceil(podCount / 25)));
  const nodes: SimNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `node-${String(i + 1).padStart(3, '0')}`;
    const ready = !(i > 0 && (rnd() < 0.125 || (nodeCount >= 3 && i === nodeCount - 1 && nodes.every((n) => n.ready))));
    const ip = `10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`;
    nodes.push({ name, ready, ip });
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
  return nodes;
}
