import { stepHandler } from '../src/lambda/step-handler.ts';
import { doctor } from '../src/steps/doctor.ts';

export const { handler, createHandler } = stepHandler(doctor);
