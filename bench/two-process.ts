/**
 * The node:cluster shape every benchmark anchor shares: the primary forks two worker processes
 * (as many as fleetgate's HTTP workers in the benchmark), says `anchor listening on PORT` once
 * both listen, and takes them down on SIGTERM; each worker runs `serve`.
 */
import cluster from 'node:cluster';

export function runTwoProcesses(port: number, serve: () => void): void {
  if (!cluster.isPrimary) return serve();
  for (let i = 0; i < 2; i++) cluster.fork();
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === 2) console.log(`anchor listening on ${port}`);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
}
