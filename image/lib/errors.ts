/** A build of the task image that cannot go on, with a sentence that says why. */
export class ImageBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageBuildError';
  }
}
