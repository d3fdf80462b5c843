import { stepHandler } from '../src/lambda.ts';
import { notify } from '../src/steps/notify.ts';

export const { handler, createHandler } = stepHandler(notify);
