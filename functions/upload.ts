import { stepHandler } from '../src/lambda/step-handler.ts';
import { upload } from '../src/steps/upload.ts';

export const { handler, createHandler } = stepHandler(upload);
