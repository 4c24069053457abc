/** `fleetgate serve`: start the supervisor and run until SIGTERM or SIGINT, then drain and exit 0. */
import { ConfigError, parseServeOptions, serveUsage } from '../server/config.js';
import { Supervisor } from '../server/supervisor.js';
import { ensureV8PoolSize } from '../server/v8-pool.js';

export async function run(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseServeOptions(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`fleetgate serve: ${e.message}\n\n${serveUsage()}`);
      return 2;
    }
    throw e;
  }
  if (opts === 'help') {
    console.log(serveUsage());
    return 0;
  }
  try {
    ensureV8PoolSize((line) => console.error(line));
  } catch (e) {
    console.error(`fleetgate serve: ${(e as Error).message}`);
    return 2;
  }
  let supervisor: Supervisor;
  try {
    supervisor = new Supervisor(opts);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`fleetgate serve: ${e.message}`);
      return 2;
    }
    throw e;
  }
  let signalled = false;
  const done = new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      console.log(`fleetgate: ${sig}: draining in-flight requests (up to ${opts.drainMs} ms)`);
      supervisor.stop().then(
        () => {
          console.log('fleetgate: stopped');
          resolve(0);
        },
        (err: unknown) => {
          console.error(`fleetgate: shutdown failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    await supervisor.start();
  } catch (err) {
    console.error(`fleetgate: cannot start: ${(err as Error).message}`);
    await supervisor.stop();
    return 1;
  }
  return done;
}
