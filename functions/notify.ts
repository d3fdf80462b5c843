import { stepHandler } from '../src/lambda/step-handler.ts';
import { notify } from '../src/steps/notify.ts';

export const { handler, createHandler } = stepHandler(notify);
