// Pretrained models in a study: fine-tuning every design from one checkpoint (train.init, a locked tower) and
// reference models that are evaluated without being trained, then analysed as points, not designs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../analysis/analyze.js';
import type { LoadedResult, Result } from '../eval/result.js';
import { jobWork, studyLayout } from './jobs.js';
import { planStudy } from './plan.js';
import { parseStudySpec } from './spec.js';

const dir = mkdtempSync(join(tmpdir(), 'cliplab-refs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ckpt = join(dir, 'clip.safetensors');
writeFileSync(ckpt, '');
mkdirSync(join(dir, 'root', 'sources', 'twemoji'), { recursive: true });

const spec = (extra: Record<string, unknown>) =>
  parseStudySpec({ data_root: 'root', sizes: [{ name: 's', fraction: 1, samples: 10 }], designs: [{ name: 'tw', source: 'twemoji' }], ...extra }, 'spec.yaml', dir);

describe('pretrained models in a study spec', () => {
  it('train.init fine-tunes every design from the checkpoint, with a tower locked; model may be omitted', () => {
    const out = join(dir, 'out1');
    const plan = planStudy(spec({ train: { init: 'clip.safetensors', lock_text: true } }), out);
    const ctx = { plan, layout: studyLayout(out) };
    const job = plan.jobs.find((j) => j.kind === 'train')!;
    const args = jobWork(ctx, { ...job, state: 'pending' } as never).request().args;
    expect(args).toContain('--init');
    expect(args[args.indexOf('--init') + 1]).toBe(ckpt);
    expect(args).toContain('--lock-text');
    expect(args).not.toContain('--lock-image');
    expect(args).not.toContain('--model');
    expect(() => planStudy(spec({}), out)).toThrow(/give model \(a config\) or train\.init/);
    expect(() => planStudy(spec({ train: { init: 'nope.safetensors' } }), out)).toThrow(/train\.init.*nope\.safetensors does not exist/);
  });

  it('references become eval jobs of their checkpoint with no data or train job', () => {
    const out = join(dir, 'out2');
    const plan = planStudy(spec({ model: 'ViT-Nano-8-32', references: [{ name: 'openai-clip', model: 'clip.safetensors' }] }), out);
    expect(plan.designs.find((d) => d.name === 'openai-clip')?.kind).toBe('reference');
    const jobs = plan.jobs.filter((j) => j.design === 'openai-clip');
    expect(jobs.map((j) => [j.id, j.kind, j.deps])).toEqual([['eval/openai-clip', 'eval', []]]);
    const args = jobWork({ plan, layout: studyLayout(out) }, { ...jobs[0]!, state: 'pending' } as never).request().args;
    expect(args[args.indexOf('--model') + 1]).toBe(ckpt);
    expect(args[args.indexOf('--design') + 1]).toBe('openai-clip');
    expect(() => planStudy(spec({ model: 'x', references: [{ name: 'tw', model: 'clip.safetensors' }] }), out)).toThrow(/references\[0\]\(tw\).*also a design/);
    expect(() => planStudy(spec({ model: 'x', references: [{ name: 'r', model: 'gone.pt' }] }), out)).toThrow(/references\[0\]\(r\).*gone\.pt does not exist/);
  });
});

function result(model: string, design: string, kind: string, dataset: string, acc1: number): LoadedResult {
  const r = { model, design, dataset, metrics: { acc1, acc5: acc1, mean_per_class_recall: acc1 }, n: 1000, samples_seen: 1, seed: 0, reference: dataset === 'ref', design_info: { kind, sources: kind === 'reference' ? {} : { a: 1 } } } as Result;
  return { file: `/r/${model}__${dataset}.json`, result: r };
}

describe('reference models in analysis', () => {
  it('are points with effective robustness, never lines or part of the pooled baseline', () => {
    const rs: LoadedResult[] = [];
    [0.3, 0.4, 0.5, 0.6].forEach((a, i) => rs.push(result(`a${i}`, 'a', 'source', 'ref', a), result(`a${i}`, 'a', 'source', 'shift', a - 0.1)));
    rs.push(result('clip', 'clip', 'reference', 'ref', 0.7), result('clip', 'clip', 'reference', 'shift', 0.65));
    const r = analyze(rs, { resamples: 10 });
    expect(r.lines.map((l) => l.design)).not.toContain('clip');
    expect(r.lines.some((l) => l.design === 'a')).toBe(true);
    expect(r.baseline.designs).toEqual(['a']);
    const clip = r.models.find((m) => m.model === 'clip' && m.dataset === 'shift')!;
    // The baseline is design a's line, so the reference's ER is its distance above that line.
    expect(clip.effectiveRobustness).toBeGreaterThan(0.02);
    expect(clip.effectiveRobustness).toBeLessThan(0.06);
  });
});
