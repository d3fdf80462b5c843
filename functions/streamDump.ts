import { stepHandler } from '../src/lambda/step-handler.ts';
import { streamDump } from '../src/steps/streamDump.ts';

export const { handler, createHandler } = stepHandler(streamDump);
