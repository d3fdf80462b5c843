import { stepHandler } from '../src/lambda/step-handler.ts';
import { prune } from '../src/steps/prune.ts';

export const { handler, createHandler } = stepHandler(prune);
