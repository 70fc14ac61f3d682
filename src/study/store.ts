// The study's results store: one SQLite file (better-sqlite3) holding every job's state, attempts, timings,
// outputs and a log of state transitions. Transitions are guarded UPDATEs, so they are idempotent and a
// claim succeeds once; a PostgreSQL store for many workers would keep the same table and statements.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const STORE_FILE = 'study.sqlite';
export const JOB_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];
export type JobKind = 'testbed' | 'data' | 'train' | 'eval';

export interface JobRecord {
  id: string;
  kind: JobKind;
  design: string | null;
  model: string | null;
  deps: string[];
  /** Hash of everything that determines the job's output; a changed fingerprint resets the job. */
  fingerprint: string;
  state: JobState;
  attempts: number;
  /** Process id of the job's subprocess while running (to reap orphans after a crash). */
  pid: number | null;
  /** The executor's name for the job's last run, e.g. `slurm:1234` (kept after it ends, for the record). */
  handle: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
  outputs: Record<string, unknown> | null;
  error: string | null;
}

export interface JobDefinition {
  id: string;
  kind: JobKind;
  design?: string;
  model?: string;
  deps: string[];
  fingerprint: string;
}

interface Row {
  id: string;
  kind: JobKind;
  design: string | null;
  model: string | null;
  deps: string;
  fingerprint: string;
  state: JobState;
  attempts: number;
  pid: number | null;
  handle: string | null;
  started_at: string | null;
  finished_at: string | null;
  seconds: number | null;
  outputs: string | null;
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  design TEXT,
  model TEXT,
  deps TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  pid INTEGER,
  handle TEXT,
  started_at TEXT,
  finished_at TEXT,
  seconds REAL,
  outputs TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  at TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  detail TEXT
);
`;

function toRecord(r: Row): JobRecord {
  return {
    id: r.id,
    kind: r.kind,
    design: r.design,
    model: r.model,
    deps: JSON.parse(r.deps) as string[],
    fingerprint: r.fingerprint,
    state: r.state,
    attempts: r.attempts,
    pid: r.pid,
    handle: r.handle ?? null,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    seconds: r.seconds,
    outputs: r.outputs === null ? null : (JSON.parse(r.outputs) as Record<string, unknown>),
    error: r.error,
  };
}

const now = (): string => new Date().toISOString();

export class StudyStore {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // Stores written before jobs had an executor handle gain the column (NULL for every old row).
    const cols = (this.db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name);
    if (!cols.includes('handle')) this.db.exec('ALTER TABLE jobs ADD COLUMN handle TEXT');
  }

  close(): void {
    this.db.close();
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  private event(id: string, from: JobState | null, to: JobState, detail?: string): void {
    this.db.prepare('INSERT INTO events (job_id, at, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)').run(id, now(), from, to, detail ?? null);
  }

  /**
   * Inserts new jobs as pending; a stored job whose fingerprint changed is reset to pending (its outputs no
   * longer match the spec). Jobs no longer in the plan are left alone. Returns the ids that were reset.
   */
  sync(defs: JobDefinition[]): string[] {
    const reset: string[] = [];
    const get = this.db.prepare('SELECT * FROM jobs WHERE id = ?');
    const insert = this.db.prepare(
      `INSERT INTO jobs (id, kind, design, model, deps, fingerprint, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
    );
    const update = this.db.prepare(
      `UPDATE jobs SET kind = ?, design = ?, model = ?, deps = ?, fingerprint = ?, state = 'pending', outputs = NULL, error = NULL WHERE id = ?`,
    );
    const updateDeps = this.db.prepare('UPDATE jobs SET deps = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const d of defs) {
        const row = get.get(d.id) as Row | undefined;
        const deps = JSON.stringify(d.deps);
        if (!row) {
          insert.run(d.id, d.kind, d.design ?? null, d.model ?? null, deps, d.fingerprint);
          this.event(d.id, null, 'pending', 'planned');
        } else if (row.fingerprint !== d.fingerprint) {
          update.run(d.kind, d.design ?? null, d.model ?? null, deps, d.fingerprint, d.id);
          this.event(d.id, row.state, 'pending', 'spec changed');
          reset.push(d.id);
        } else if (row.deps !== deps) updateDeps.run(deps, d.id);
      }
    })();
    return reset;
  }

  job(id: string): JobRecord | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  jobs(): JobRecord[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY rowid').all() as Row[]).map(toRecord);
  }

  /** pending|failed → running, attempts + 1. False when another claimant got there first (or it is done). */
  claim(id: string): boolean {
    const before = this.job(id)?.state ?? null;
    const r = this.db
      .prepare(
        `UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, finished_at = NULL, seconds = NULL, error = NULL, pid = NULL, handle = NULL
         WHERE id = ? AND state IN ('pending', 'failed')`,
      )
      .run(now(), id);
    if (r.changes === 1) this.event(id, before, 'running');
    return r.changes === 1;
  }

  setPid(id: string, pid: number | null): void {
    this.db.prepare(`UPDATE jobs SET pid = ? WHERE id = ? AND state = 'running'`).run(pid, id);
  }

  /** Records the executor's name for a running job (e.g. its Slurm job id), so a later runner can find it. */
  setHandle(id: string, handle: string): void {
    const r = this.db.prepare(`UPDATE jobs SET handle = ? WHERE id = ? AND state = 'running'`).run(handle, id);
    if (r.changes === 1) this.event(id, 'running', 'running', `submitted as ${handle}`);
  }

  /** running → done with its outputs. Outputs must already be committed on disk. */
  complete(id: string, outputs: Record<string, unknown>, seconds: number): void {
    const r = this.db
      .prepare(`UPDATE jobs SET state = 'done', finished_at = ?, seconds = ?, outputs = ?, pid = NULL WHERE id = ? AND state = 'running'`)
      .run(now(), seconds, JSON.stringify(outputs), id);
    if (r.changes === 1) this.event(id, 'running', 'done');
  }

  /** Marks a job done without running it (its outputs were found complete on disk). */
  adopt(id: string, outputs: Record<string, unknown>): void {
    const r = this.db
      .prepare(`UPDATE jobs SET state = 'done', finished_at = ?, outputs = ?, pid = NULL WHERE id = ? AND state IN ('pending', 'running', 'failed')`)
      .run(now(), JSON.stringify(outputs), id);
    if (r.changes === 1) this.event(id, null, 'done', 'outputs found complete');
  }

  fail(id: string, error: string, seconds: number): void {
    const r = this.db
      .prepare(`UPDATE jobs SET state = 'failed', finished_at = ?, seconds = ?, error = ?, pid = NULL WHERE id = ? AND state = 'running'`)
      .run(now(), seconds, error, id);
    if (r.changes === 1) this.event(id, 'running', 'failed', error);
  }

  /** running → pending (interrupted: the runner stopped, or died and is being resumed). */
  release(id: string, detail: string): void {
    const r = this.db.prepare(`UPDATE jobs SET state = 'pending', pid = NULL WHERE id = ? AND state = 'running'`).run(id);
    if (r.changes === 1) this.event(id, 'running', 'pending', detail);
  }

  /** done → pending (its outputs vanished from disk). */
  invalidate(id: string, detail: string): void {
    const r = this.db.prepare(`UPDATE jobs SET state = 'pending', outputs = NULL WHERE id = ? AND state = 'done'`).run(id);
    if (r.changes === 1) this.event(id, 'done', 'pending', detail);
  }

  events(id?: string): { jobId: string; at: string; from: JobState | null; to: JobState; detail: string | null }[] {
    const rows = (id === undefined
      ? this.db.prepare('SELECT * FROM events ORDER BY seq').all()
      : this.db.prepare('SELECT * FROM events WHERE job_id = ? ORDER BY seq').all(id)) as {
      job_id: string;
      at: string;
      from_state: JobState | null;
      to_state: JobState;
      detail: string | null;
    }[];
    return rows.map((r) => ({ jobId: r.job_id, at: r.at, from: r.from_state, to: r.to_state, detail: r.detail }));
  }

  counts(): Record<JobState, number> {
    const out: Record<JobState, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as { state: JobState; n: number }[])
      out[r.state] = r.n;
    return out;
  }
}
