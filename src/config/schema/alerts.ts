/** `alerts` of a target or of `defaults`: warnings about a backup that succeeded but looks wrong. */
import * as z from 'zod';

export const alertsSchema = z.strictObject({
  /**
   * A dump this many percent smaller or larger than the target's previous backup is a warning: a
   * dropped table or the wrong database shrinks it, a runaway log table swells it.
   */
  sizeChangePercent: z
    .number()
    .gt(0, 'must be more than 0 (the percent a dump may differ from the previous one, e.g. 50)')
    .max(1000, 'must be at most 1000 (a dump more than 11 times the size of the previous one)'),
});

export type AlertsConfig = z.output<typeof alertsSchema>;
