/**
 * An error the Step Functions API answers with: HTTP 400 and `{"__type": name, "message": ...}`, which the SDKs and the
 * AWS CLI turn into an exception named `name` (ExecutionAlreadyExists, InvalidArn, ...).
 */
export class ApiError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}
