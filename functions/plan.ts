import { stepHandler } from '../src/lambda/step-handler.ts';
import { plan } from '../src/steps/plan.ts';

export const { handler, createHandler } = stepHandler(plan);
