/**
 * Runs one autocannon measurement in its own process (so it can be pinned to a core with taskset)
 * and prints the result as one JSON line. Argument: JSON { url, headers, connections, duration }.
 */
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]!) as { url: string; headers?: Record<string, string>; connections: number; duration: number };
const result = await autocannon({
  url: opts.url,
  headers: opts.headers,
  connections: opts.connections,
  pipelining: 1,
  duration: opts.duration,
});
console.log(
  JSON.stringify({
    rps: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  }),
);
