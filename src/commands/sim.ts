/**
 * `fleetgate sim`: start simulated Kubernetes API servers, write a kubeconfig for them, run until
 * SIGINT/SIGTERM.
 */
import { parseFlags } from '../util/args.js';
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { startSimulator, type Fault } from '../sim/index.js';
import { untilStopSignal } from '../util/signals.js';

const USAGE = `usage: fleetgate sim --clusters K --out FILE [options]

Simulates K Kubernetes API servers on 127.0.0.1 (one HTTPS port each, one CA for the run),
writes a kubeconfig with one context per cluster (the first is current) and runs until stopped
with Ctrl-C (SIGINT) or SIGTERM.

options:
  -c, --clusters K        number of clusters (required, at least 1)
  -o, --out FILE          kubeconfig to write (required; written with mode 0600)
      --prefix NAME       cluster name prefix (default "sim": sim-0001, sim-0002, ...)
      --pods N            pods per cluster (default 20; nodes, namespaces, workloads scale)
      --seed N            seed of the generated objects (default 1)
      --auth MODE         token (default) or cert: how the kubeconfig authenticates
      --control-port P    loopback control server port (default 0 = ephemeral)
      --no-control        run without the control server
      --fault NAME:SPEC   fault at start, repeatable; SPEC is comma-separated
                          down | hang | latency=MS | errors=RATE, e.g. sim-0002:latency=200,errors=0.1
      --eager             generate every cluster's objects at start, not on first use
      --info FILE         also write {controlUrl, clusters:[{name, server, version}]} as JSON
  -h, --help              this help
`;

const kSimOptions = {
  clusters: { type: 'string', short: 'c' },
  out: { type: 'string', short: 'o' },
  prefix: { type: 'string' },
  pods: { type: 'string' },
  seed: { type: 'string' },
  auth: { type: 'string' },
  'control-port': { type: 'string' },
  'no-control': { type: 'boolean' },
  fault: { type: 'string', multiple: true },
  info: { type: 'string' },
  eager: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseFault(spec: string): [string, Fault] {
  const i = spec.indexOf(':');
  if (i <= 0) throw new Error(`--fault "${spec}": expected NAME:SPEC`);
  const name = spec.slice(0, i);
  const f: Fault = {};
  for (const part of spec.slice(i + 1).split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k === 'down') f.down = true;
    else if (k === 'hang') f.hang = true;
    else if (k === 'latency' && Number(v) >= 0) f.latencyMs = Number(v);
    else if (k === 'errors' && Number(v) >= 0 && Number(v) <= 1) f.errorRate = Number(v);
    else throw new Error(`--fault "${spec}": cannot understand "${part}" (accepted: down, hang, latency=MS, errors=RATE from 0 to 1)`);
  }
  return [name, f];
}

function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export async function run(argv: string[]): Promise<number> {
  const values = parseFlags('sim', argv, kSimOptions, USAGE);
  if (typeof values === 'number') return values;
  const int = (v: string | undefined, what: string, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
  let opts;
  try {
    const clusters = int(values.clusters, '--clusters', 1);
    if (clusters === undefined) throw new Error('--clusters is required');
    if (!values.out) throw new Error('--out is required');
    const auth = values.auth ?? 'token';
    if (auth !== 'token' && auth !== 'cert') throw new Error(`--auth must be token or cert, got "${auth}"`);
    const controlPort = values['no-control'] ? -1 : int(values['control-port'] ?? '0', '--control-port', 0);
    opts = {
      clusters,
      namePrefix: values.prefix,
      podsPerCluster: int(values.pods, '--pods', 0),
      seed: int(values.seed, '--seed', 0),
      auth: auth as 'token' | 'cert',
      controlPort: controlPort === -1 ? undefined : controlPort,
      eager: values.eager ?? false,
      faults: Object.fromEntries((values.fault ?? []).map(parseFault)),
    };
  } catch (e) {
    console.error(`fleetgate sim: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }

  const sim = await startSimulator(opts);
  const out = resolve(values.out!);
  writePrivate(out, sim.kubeconfig());
  if (values.info) {
    writePrivate(
      resolve(values.info),
      JSON.stringify({ controlUrl: sim.controlUrl ?? null, kubeconfig: out, clusters: sim.clusters.map((c) => ({ name: c.name, server: c.server, version: c.version })) }, null, 2) + '\n',
    );
  }
  const first = sim.clusters[0];
  console.log(
    `fleetgate sim: ${sim.clusters.length} cluster(s) ready in ${Math.round(sim.startMs)} ms: ${first.name} at ${first.server}` +
      (sim.clusters.length > 1 ? ` … ${sim.clusters[sim.clusters.length - 1].name}` : ''),
  );
  console.log(`fleetgate sim: kubeconfig written to ${out} (try: kubectl --kubeconfig ${out} get pods -A)`);
  if (sim.controlUrl) console.log(`fleetgate sim: control interface at ${sim.controlUrl} (GET /clusters, POST /clusters/NAME/fault)`);

  console.log(`fleetgate sim: ${await untilStopSignal()}, stopping`);
  await sim.stop();
  const stats = sim.stats();
  console.log(`fleetgate sim: stopped after ${stats.requests} request(s)`);
  return 0;
}
