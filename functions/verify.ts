import { stepHandler } from '../src/lambda.ts';
import { verify } from '../src/steps/verify.ts';

export const { handler, createHandler } = stepHandler(verify);
