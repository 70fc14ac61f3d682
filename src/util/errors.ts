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

const IO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'name too long',
};

/** An operating-system I/O failure (disk full, permission denied, …) on a named path: one line, no stack. */
export class IoError extends CliplabError {
  override name = 'IoError';
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }

  /** Wraps a Node errno error (or passes a CliplabError through) with `what` ("cannot write") and the path. */
  static from(err: unknown, path: string, what: string): CliplabError {
    if (err instanceof CliplabError) return err;
    const code = (err as NodeJS.ErrnoException)?.code ?? 'EIO';
    const words = IO_WORDS[code] ?? ((err as Error)?.message ?? String(err)).replace(/^[A-Z]+: /, '').split(',')[0];
    return new IoError(path, code, `${what}: ${words} (${code})`);
  }
}

/** A Node errno error from the file system (it carries `code` and `syscall`). */
export function isErrnoError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
