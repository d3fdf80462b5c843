/**
 * Loaded into a stepvault process by `node --import` (see slowClockEnv): the process's clock
 * starts at STEPVAULT_TEST_CLOCK and runs a thousand times slower than real time. Two processes
 * started together then read the same second however long each takes to load, which is what a
 * test of two runs "in the same second" needs and what two real clocks cannot promise on a busy
 * machine. Timers are untouched, so retries and time limits behave as usual.
 */
const start = Date.parse(process.env.STEPVAULT_TEST_CLOCK ?? '');
if (Number.isNaN(start)) throw new Error('slow-clock: STEPVAULT_TEST_CLOCK must be an ISO 8601 time');

const RealDate = Date;
const realStart = RealDate.now();
const now = () => start + Math.floor((RealDate.now() - realStart) / 1000);

class SlowDate extends RealDate {
  constructor(...args: ConstructorParameters<DateConstructor> | []) {
    if (args.length === 0) super(now());
    else super(...(args as ConstructorParameters<DateConstructor>));
  }

  static override now(): number {
    return now();
  }
}

globalThis.Date = SlowDate as DateConstructor;
