import { stepHandler } from '../src/lambda/step-handler.ts';
import { verify } from '../src/steps/verify.ts';

export const { handler, createHandler } = stepHandler(verify);
