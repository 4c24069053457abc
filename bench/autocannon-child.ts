/**
 * Runs one autocannon measurement in its own process (so it can be pinned to a core with taskset)
 * and prints the result as one JSON line. Argument: JSON { url, headers, connections, duration,
 * watch? }.
 *
 * `watch` names processes (name → pid) whose CPU time is read right before the load starts and
 * right after it ends, here rather than in the parent, so that the window is the load itself:
 * not this process's start-up or exit, nor the parent's waiting. `cpuUs` is each one's CPU µs
 * per completed request over that window, and `autocannon` this process's own (the load
 * generator's share of the machine).
 */
import autocannon from 'autocannon';
import { cpuSeconds } from './cpu-time.js';

const opts = JSON.parse(process.argv[2]!) as {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  duration: number;
  watch?: Record<string, number | undefined>;
};
const watch = Object.entries(opts.watch ?? {});
const before = watch.map(([, pid]) => cpuSeconds(pid));
const self0 = process.cpuUsage();
const result = await autocannon({
  url: opts.url,
  headers: opts.headers,
  connections: opts.connections,
  pipelining: 1,
  duration: opts.duration,
});
const after = watch.map(([, pid]) => cpuSeconds(pid));
const self = process.cpuUsage(self0);
const total = Math.max(1, result.requests.total);
const cpuUs: Record<string, number> = Object.fromEntries(watch.map(([k], i) => [k, Math.round((1e6 * (after[i]! - before[i]!)) / total)]));
cpuUs.autocannon = Math.round((self.user + self.system) / total);
console.log(
  JSON.stringify({
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuUs,
  }),
);
