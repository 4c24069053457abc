/**
 * `fleetgate <command>`: dispatches to the command modules, loaded lazily so `fleetgate sim` does
 * not pay for the server's imports and vice versa.
 */
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  serve: { summary: 'run the multi-core API server', load: () => import('./commands/serve.js') },
  sim: { summary: 'simulate Kubernetes API servers and write a kubeconfig for them', load: () => import('./commands/sim.js') },
  demo: { summary: 'serve the teaching page: the real lock, live in your browser', load: () => import('./commands/demo.js') },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log('usage: fleetgate <command> [options]\n');
    for (const [n, c] of Object.entries(commands)) console.log(`  ${n.padEnd(8)} ${c.summary}`);
    console.log('\nRun `fleetgate <command> --help` for its options. First time? `npm start -- --sim 5` serves five simulated clusters.');
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`fleetgate: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')} (fleetgate --help says what each does)`);
    return 1;
  }
  return (await command.load()).run(rest);
}
