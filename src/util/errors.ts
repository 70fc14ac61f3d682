// Typed errors that name the input at fault. The CLI prints `message` on one line and exits non-zero.

/** Base class for every error cliplab raises on purpose (bad input, not a bug). */
export class CliplabError extends Error {
  override name = 'CliplabError';
}

/** A graph was built wrong: shape or dtype mismatch, unknown op, bad attribute. */
export class GraphError extends CliplabError {
  override name = 'GraphError';
}

/** A user-supplied file, spec, flag or value is invalid. `where` names it (path, key, row). */
export class InputError extends CliplabError {
  override name = 'InputError';
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
  }
}

/** A run-time failure from the numeric engine (missing feed, provider not available). */
export class RuntimeError extends CliplabError {
  override name = 'RuntimeError';
}
