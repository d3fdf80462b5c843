import { stepHandler } from '../src/lambda/step-handler.ts';
import { dump } from '../src/steps/dump.ts';

export const { handler, createHandler } = stepHandler(dump);
