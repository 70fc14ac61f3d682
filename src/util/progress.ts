// Progress bars on stderr for long work; silent when stderr is not a TTY or in quiet mode.
import cliProgress from 'cli-progress';
import { isQuiet } from './log.js';

export interface Progress {
  /** Advance by `n` (default 1); `payload` fills extra fields such as a rate. */
  tick(n?: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

const silent: Progress = { tick() {}, setTotal() {}, stop() {} };

/** A bar on `stream` (stderr by default; tests pass a terminal of their own). */
export function progress(label: string, total: number, unit = 'items', stream: NodeJS.WriteStream = process.stderr): Progress {
  if (isQuiet() || !stream.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} | ETA {eta_formatted}`,
      stream,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let value = 0;
  bar.start(total, 0, { rate: '' });
  return {
    tick(n = 1, payload = {}) {
      value += n;
      const s = (Date.now() - t0) / 1000;
      bar.update(value, { rate: s > 0 ? `${(value / s).toFixed(1)} ${unit}/s` : '', ...payload });
    },
    setTotal(t) {
      bar.setTotal(t);
    },
    stop() {
      bar.stop();
    },
  };
}
