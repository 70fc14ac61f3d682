// Background threads yield the cores to the critical path: on Linux a thread's nice value is its own, so a
// worker thread can lower its priority without touching the process's other threads.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The calling thread's kernel thread id (Linux), or null elsewhere. */
export function threadId(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** Sets the calling thread's nice value (only lowering is allowed without privileges); false where it cannot. */
export function setThreadNice(nice: number): boolean {
  const tid = threadId();
  if (tid === null) return false;
  try {
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
