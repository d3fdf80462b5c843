import { stepHandler } from '../src/lambda/step-handler.ts';
import { collectDump } from '../src/steps/collectDump.ts';

export const { handler, createHandler } = stepHandler(collectDump);
