/**
 * CPU time of other processes, from /proc (Linux), for the benchmarks' CPU-per-request figures.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system, every thread) a process and its live child processes (the anchors'
 * node:cluster workers) have used so far; NaN when unknown.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return NaN;
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  let total = (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  const children = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(children)) {
    for (const c of readFileSync(children, 'utf8').split(' ').filter(Boolean)) {
      const t = cpuSeconds(Number(c));
      if (!Number.isNaN(t)) total += t;
    }
  }
  return total;
}

/**
 * CPU seconds (user + system) of each thread of process `pid` whose name starts with `prefix`
 * (`fleetgate-http-` names the HTTP workers: the supervisor names its threads ROLE-INDEX), by
 * thread id; empty when unknown.
 */
export function threadCpuSeconds(pid: number | undefined, prefix: string): Map<number, number> {
  const out = new Map<number, number>();
  if (pid === undefined || !existsSync(`/proc/${pid}/task`)) return out;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith(prefix)) continue;
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}
