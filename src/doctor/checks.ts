/** The checks `stepvault doctor` makes on this machine (src/doctor/check-order.ts lists them). */
import { checksInOrder } from './check-order.ts';
import { notifiersCheck } from './notifiers.ts';
import { stagingCheck } from './staging.ts';
import type { Check } from './types.ts';

export const CHECKS: readonly Check[] = checksInOrder({ staging: stagingCheck, notifiers: notifiersCheck });
