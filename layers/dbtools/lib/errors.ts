/** A layer build failed for a reason the person running it can act on. */
export class LayerBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LayerBuildError';
  }
}
