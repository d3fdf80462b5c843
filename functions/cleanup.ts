import { stepHandler } from '../src/lambda/step-handler.ts';
import { cleanup } from '../src/steps/cleanup.ts';

export const { handler, createHandler } = stepHandler(cleanup);
