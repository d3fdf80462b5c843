import { stepHandler } from '../src/lambda.ts';
import { dump } from '../src/steps/dump.ts';

export const { handler, createHandler } = stepHandler(dump);
