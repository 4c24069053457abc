/**
 * The first SIGINT or SIGTERM, for commands that run until told to stop. Both listeners are
 * removed once it arrives, so a second Ctrl-C meets Node's default handling (exit at once) rather
 * than a handler that would wait for a shutdown already under way.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
