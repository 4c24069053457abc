/** `fleetgate serve`: start the supervisor and run until SIGTERM or SIGINT, then drain and exit 0. */
import { ConfigError, parseServeOptions, serveUsage } from '../server/config.js';
import { Supervisor } from '../server/supervisor.js';
import { ensureV8PoolSize } from '../server/v8-pool.js';
import { untilStopSignal } from '../util/signals.js';

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
  const done = untilStopSignal().then(async (sig) => {
    console.log(`fleetgate: ${sig}: draining in-flight requests (up to ${opts.drainMs} ms; a second signal stops at once)`);
    try {
      await supervisor.stop();
      console.log('fleetgate: stopped');
      return 0;
    } catch (err) {
      console.error(`fleetgate: shutdown failed: ${(err as Error).message}`);
      return 1;
    }
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
