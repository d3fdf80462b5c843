/**
 * Calls a handler the way Lambda does, so that a local run sees what Step Functions would:
 * the event and the result cross a JSON boundary, and a thrown error reaches the state machine
 * with its name as the error and Lambda's JSON document ({"errorType","errorMessage","trace"})
 * as the cause.
 */
export type LocalHandler = (event: never) => Promise<unknown>;

export class LambdaFunctionError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

export function invokeLikeLambda<Out>(handler: LocalHandler): (input: unknown) => Promise<Out> {
  return async (input) => {
    const event = JSON.parse(JSON.stringify(input ?? null)) as never;
    let result: unknown;
    try {
      result = await handler(event);
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      const trace =
        error instanceof Error
          ? (error.stack ?? '')
              .split('\n')
              .slice(1, 6)
              .map((l) => l.trim())
          : [];
      throw new LambdaFunctionError(name, JSON.stringify({ errorType: name, errorMessage: message, trace }));
    }
    return (result === undefined ? null : JSON.parse(JSON.stringify(result))) as Out;
  };
}
