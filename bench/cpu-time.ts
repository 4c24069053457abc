/**
 * CPU time of other processes, from /proc (Linux), for the benchmarks' CPU-per-request figures.
 */
import { existsSync, readFileSync } from 'node:fs';

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
