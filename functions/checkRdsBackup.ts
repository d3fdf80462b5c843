import { stepHandler } from '../src/lambda/step-handler.ts';
import { checkRdsBackup } from '../src/steps/checkRdsBackup.ts';

export const { handler, createHandler } = stepHandler(checkRdsBackup);
