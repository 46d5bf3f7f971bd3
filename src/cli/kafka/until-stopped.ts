// When a long-running Kafka command (consume, materialize) stops: on SIGTERM or SIGINT, when it
// asks to (a crash), or — with --until-idle — once it has had nothing to do for that long. A
// second signal while it stops ends the process at once (what is committed stands).

export interface Stopping {
  /** Resolves when the command should stop; `reason` says why. */
  readonly stopped: Promise<void>;
  readonly reason: () => 'signal' | 'idle' | 'asked' | undefined;
  stop(): void;
  /** Removes the listeners and the idle timer. */
  dispose(): void;
}

/**
 * `idleSince()` is the time (Date.now()) since which nothing was done, or undefined while busy or
 * before the command could have had work (it has not joined its group yet).
 */
export function untilStopped(o: { untilIdleSeconds?: number; idleSince(): number | undefined }): Stopping {
  let reason: 'signal' | 'idle' | 'asked' | undefined;
  let resolve!: () => void;
  const stopped = new Promise<void>((r) => (resolve = r));
  let timer: NodeJS.Timeout | undefined;
  const again = (code: number) => () => process.exit(code);
  const onInt = again(130);
  const onTerm = again(143);
  const finish = (why: 'signal' | 'idle' | 'asked') => {
    if (reason !== undefined) return;
    reason = why;
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (timer !== undefined) clearInterval(timer);
    resolve();
  };
  const onSignal = () => finish('signal');
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  if (o.untilIdleSeconds !== undefined) {
    const idle = o.untilIdleSeconds * 1000;
    timer = setInterval(() => {
      const since = o.idleSince();
      if (since !== undefined && Date.now() - since >= idle) finish('idle');
    }, 200);
  }
  return {
    stopped,
    reason: () => reason,
    stop: () => finish('asked'),
    dispose() {
      if (timer !== undefined) clearInterval(timer);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
    },
  };
}
