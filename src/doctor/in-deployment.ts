/**
 * The checks the Doctor function makes inside a deployment: the same as on a laptop, from where the
 * dumps run (the route to the database, the secrets and the destinations as the VPC reaches them,
 * the layer's dump tool, the staging share). Three answer differently there: the notifiers are
 * sent by Notify, which runs outside the VPC, so asking from the Doctor's place would prove
 * nothing about them; the secrets of notifiers and drills are read by their own functions' roles
 * alone; and a fargate target's dump streams from its ECS task, so nothing is staged.
 */
import { checksInOrder } from './check-order.ts';
import { configCheckWith } from './secrets.ts';
import { stagingCheck } from './staging.ts';
import type { Check } from './types.ts';
import { skip } from './types.ts';

// Not notifiersCheck itself: importing it would bundle the mail transports into the Doctor function.
const notifiersFromHere: Check = {
  id: 'notifiers',
  name: 'notifiers',
  async run({ target }) {
    return target.notify.map((name) =>
      skip(
        `notifier ${name}`,
        'Notify sends from outside the VPC, not from where the dump runs: `stepvault doctor` checks it from your machine',
      ),
    );
  },
};

const stagingOfRunner: Check = {
  ...stagingCheck,
  async run(context) {
    if (context.target.runner === 'fargate')
      return [skip('staging', 'runner fargate streams the dump into the first destination; nothing is staged')];
    return stagingCheck.run(context);
  },
};

/**
 * The Doctor role reads the targets' and destinations' secrets, as Dump and Upload do; a
 * notifier's are Notify's alone and a drill's Verify's alone, so their lines say so instead of
 * failing on a denied read.
 */
const configOfRoles = configCheckWith((where) => {
  if (where.startsWith('notifications.'))
    return 'read by Notify, whose role alone may: `stepvault doctor` checks it from your machine';
  if (where.includes('.verify.drill.'))
    return 'read by Verify, whose role alone may: `stepvault doctor` checks it from your machine';
  return undefined;
});

export const DEPLOYMENT_CHECKS: readonly Check[] = checksInOrder({
  config: configOfRoles,
  staging: stagingOfRunner,
  notifiers: notifiersFromHere,
});
