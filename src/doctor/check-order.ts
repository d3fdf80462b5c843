/**
 * Every check doctor makes, in the order a run needs them: config and secrets, the way to the
 * server (DNS, TCP, TLS), the login and what it may read, the tool, then staging, destinations,
 * notifiers and the schedule. Adding a check: a file beside this one and a line here.
 *
 * The config, staging and notifier checks may be handed in: inside a deployment they answer differently
 * (src/doctor/in-deployment.ts), and the Doctor function's bundle then holds no mail transport.
 */
import { destinationsCheck } from './destinations.ts';
import { dumpToolCheck } from './dump-tool.ts';
import { loginCheck } from './login.ts';
import { dnsCheck, tcpCheck } from './network.ts';
import { privilegesCheck } from './privileges.ts';
import { scheduleCheck } from './schedule.ts';
import { configCheck, connectionCheck } from './secrets.ts';
import { tlsCheck } from './tls.ts';
import type { Check } from './types.ts';

export function checksInOrder(place: { config?: Check; staging: Check; notifiers: Check }): Check[] {
  return [
    place.config ?? configCheck,
    connectionCheck,
    dnsCheck,
    tcpCheck,
    tlsCheck,
    loginCheck,
    privilegesCheck,
    dumpToolCheck,
    place.staging,
    destinationsCheck,
    place.notifiers,
    scheduleCheck,
  ];
}
