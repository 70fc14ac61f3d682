// Logging to stderr; quiet mode silences info. Results go to stdout, never through here.
let quiet = false;

export function setQuiet(q: boolean): void {
  quiet = q;
}

export function isQuiet(): boolean {
  return quiet;
}

export function info(msg: string): void {
  if (!quiet) process.stderr.write(msg + '\n');
}

export function warn(msg: string): void {
  process.stderr.write(`warning: ${msg}\n`);
}
