import { stepHandler } from '../src/lambda.ts';
import { plan } from '../src/steps/plan.ts';

export const { handler, createHandler } = stepHandler(plan);
