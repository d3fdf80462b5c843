import { stepHandler } from '../src/lambda.ts';
import { cleanup } from '../src/steps/cleanup.ts';

export const { handler, createHandler } = stepHandler(cleanup);
