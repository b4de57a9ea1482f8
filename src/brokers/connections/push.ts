/** A push to our broker endpoint that fails verification (bad checksum, unknown account): HTTP 401. */
export class PushRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushRejectedError';
  }
}
