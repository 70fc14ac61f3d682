// Tests for eval's progress bars, read off a small terminal emulator as a user would see them.
import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { evalProgressReporter } from './eval-progress.js';

/** A TTY-like stream that applies what cli-progress writes (CR/LF, cursor column and up/down, line clears) to a screen. */
function terminal(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  const screen: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const line = (screen[row] ?? '').padEnd(col, ' ');
    screen[row] = line.slice(0, col) + ch + line.slice(col + 1);
    col++;
  };
  const apply = (s: string) => {
    const re = /\x1b\[(\??)([0-9;]*)([A-Za-z])|\x1b[78]|\r|\n|[^\x1b\r\n]/g;
    for (const m of s.matchAll(re)) {
      const t = m[0];
      if (t === '\n') {
        row++;
        col = 0;
        screen[row] ??= '';
      } else if (t === '\r') col = 0;
      else if (t.startsWith('\x1b[')) {
        if (m[1] === '?') continue;
        const n = m[2] === '' ? undefined : Number(m[2]);
        const cmd = m[3];
        if (cmd === 'G') col = (n ?? 1) - 1;
        else if (cmd === 'K') {
          const line = screen[row] ?? '';
          screen[row] = n === 2 ? '' : n === 1 ? ' '.repeat(col) + line.slice(col) : line.slice(0, col);
        } else if (cmd === 'A') row = Math.max(0, row - (n ?? 1));
        else if (cmd === 'B') row += n ?? 1;
        else if (cmd === 'J') screen.splice(row + 1);
      } else if (!t.startsWith('\x1b')) put(t);
    }
  };
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      apply(chunk.toString());
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY: true, columns: 200, rows: 50 });
  return { stream: w, lines: () => screen.map((l) => l.trimEnd()).filter((l) => l !== '') };
}

describe('eval progress bars', () => {
  it('a dataset whose head is built after its start: one head line, one dataset line ending at 400/400', () => {
    const t = terminal();
    const rep = evalProgressReporter(t.stream);
    // The order evaluateZeroShot reports in: the dataset is listed, then its head is built, then images flow.
    rep.on({ kind: 'dataset', dataset: 'noto-v1', total: 400 });
    for (let d = 8; d <= 40; d += 8) rep.on({ kind: 'head', model: 'm', done: d, total: 40 });
    for (let i = 0; i < 4; i++) rep.on({ kind: 'images', dataset: 'noto-v1', n: 100 });
    rep.stop();
    const lines = t.lines();
    expect(lines.filter((l) => l.startsWith('eval noto-v1'))).toHaveLength(1);
    expect(lines.find((l) => l.startsWith('eval noto-v1'))).toContain('| 400/400 images');
    expect(lines.find((l) => l.startsWith('zero-shot head m'))).toContain('| 40/40 texts');
    expect(lines.some((l) => / 0\/400 /.test(l))).toBe(false);
    expect(lines).toHaveLength(2);
  });

  it('a bar stopped for a warning goes on from the images already done', () => {
    const t = terminal();
    const rep = evalProgressReporter(t.stream);
    rep.on({ kind: 'dataset', dataset: 'a', total: 10 });
    rep.on({ kind: 'images', dataset: 'a', n: 4 });
    rep.stop(); // a warning is printed here
    rep.on({ kind: 'images', dataset: 'a', n: 6 });
    rep.stop();
    expect(t.lines().at(-1)).toContain('| 10/10 images');
  });
});
