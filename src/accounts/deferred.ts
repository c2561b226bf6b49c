// Work done after the answer is sent, so that the answer takes the same time whether or not an
// address has an account (password reset, sign-up): the token and the mail of the known-address
// path would otherwise show in the response time. Failures are logged (no address in the line).
// `settled()` waits for what is under way (tests, shutdown).
import type { Logger } from '../log.js';

export function createDeferredWork(log?: Logger) {
  const running = new Set<Promise<void>>();
  return {
    later(name: string, work: () => Promise<unknown>): void {
      const p: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(work)
        .then(
          () => undefined,
          (err: Error) => log?.error({ event: name, err: { name: err.name, message: err.message } }, 'deferred work failed'),
        )
        .finally(() => running.delete(p));
      running.add(p);
    },
    async settled(): Promise<void> {
      while (running.size) await Promise.all([...running]);
    },
  };
}
export type DeferredWork = ReturnType<typeof createDeferredWork>;
