// Process identities that survive pid reuse (`pid:start time` from /proc), for locks and orphan reaping.
import { readFileSync } from 'node:fs';

/** `pid:start time` when `pid` is alive (just the pid where /proc is missing); null when it is gone. */
export function processIdentity(pid: number): string | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: alive, but owned by another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null; // exited, not yet reaped
    return `${pid}:${fields[19]}`;
  } catch {
    return String(pid);
  }
}

/** True when `pid` is alive (a zombie counts as gone). */
export function processAlive(pid: number): boolean {
  return processIdentity(pid) !== null;
}
