/**
 * Runs one autocannon measurement in its own process (so it can be pinned to a core with taskset)
 * and prints the result as one JSON line. Argument: JSON { url, headers, connections, duration,
 * watch? }.
 *
 * `watch` names processes (name → pid) whose CPU time is read right before the load starts and
 * right after it ends, here rather than in the parent, so that the window is the load itself:
 * not this process's start-up or exit, nor the parent's waiting. `cpuUs` is each one's CPU µs
 * per completed request over that window, and `autocannon` this process's own (the load
 * generator's share of the machine). `httpWorkerMaxShare`: for a watched process with two or more
 * HTTP worker threads, the busiest one's share of their CPU over the window (0.5 of two = even).
 */
import autocannon from 'autocannon';
import { cpuSeconds, threadCpuSeconds } from './cpu-time.js';

const opts = JSON.parse(process.argv[2]!) as {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  duration: number;
  watch?: Record<string, number | undefined>;
};
const watch = Object.entries(opts.watch ?? {});
const kHttpWorker = 'fleetgate-http-';
const before = watch.map(([, pid]) => cpuSeconds(pid));
const workersBefore = watch.map(([, pid]) => threadCpuSeconds(pid, kHttpWorker));
const self0 = process.cpuUsage();
const result = await autocannon({
  url: opts.url,
  headers: opts.headers,
  connections: opts.connections,
  pipelining: 1,
  duration: opts.duration,
});
const after = watch.map(([, pid]) => cpuSeconds(pid));
const workersAfter = watch.map(([, pid]) => threadCpuSeconds(pid, kHttpWorker));
const self = process.cpuUsage(self0);
const total = Math.max(1, result.requests.total);
const cpuUs: Record<string, number> = Object.fromEntries(watch.map(([k], i) => [k, Math.round((1e6 * (after[i]! - before[i]!)) / total)]));
cpuUs.autocannon = Math.round((self.user + self.system) / total);
const httpWorkerMaxShare: Record<string, number> = {};
watch.forEach(([k], i) => {
  const used = [...workersAfter[i]!].map(([tid, t]) => t - (workersBefore[i]!.get(tid) ?? t));
  const sum = used.reduce((a, b) => a + b, 0);
  if (used.length >= 2 && sum > 0) httpWorkerMaxShare[k] = Number((Math.max(...used) / sum).toFixed(2));
});
console.log(
  JSON.stringify({
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuUs,
    httpWorkerMaxShare,
  }),
);
