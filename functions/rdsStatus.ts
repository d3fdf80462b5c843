import { stepHandler } from '../src/lambda.ts';
import { checkRdsBackup } from '../src/steps/check-rds.ts';

export const { handler, createHandler } = stepHandler(checkRdsBackup);
