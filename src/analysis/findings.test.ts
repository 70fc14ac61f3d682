// The headline sentences name what a run shows on single shifts too: source pairs whose ER CIs are apart, and
// mixtures diluted below the best source's line; nothing is claimed where the CIs overlap.
import { describe, expect, it } from 'vitest';
import { findingsStatements, separated, type Findings } from './findings.js';

type Mixing = Findings['mixing'][number];
const mix = (dataset: string, shortfall: number, ci: [number, number]): Mixing => ({
  mixture: 'mix-a25-b75', dataset, proportions: { a: 0.25, b: 0.75 }, bestSource: 'a', shortfall, shortfallCi95: ci, between: true,
  mixturePredicted: 2, mixtureCi95: [1, 3], ensemble: null, ensemblePredicted: null, ensembleCi95: null, outputPredictsInput: null,
});

function findings(over: Partial<Findings>): Findings {
  return {
    reference: 'ref', shifts: ['s1', 's2'], baseline: ['all'], classes: 100, chance: 1, bestSingleSource: null, designs: [], baselineR2: {},
    sourcesByEr: {}, separatedSources: [], separatedByShift: {}, mixing: [], sizeScaling: [], bySize: {}, filtering: [], statements: [],
    ...over,
  };
}

describe('separated', () => {
  it('pairs every design whose CI lies wholly above another one’s, more robust first', () => {
    const list = [
      { design: 'a', ci95: [1.25, 2.52] as [number, number] },
      { design: 'b', ci95: [0.11, 1.15] as [number, number] },
      { design: 'c', ci95: [-0.13, 0.27] as [number, number] },
      { design: 'd', ci95: [-0.46, 0] as [number, number] },
    ];
    expect(separated(list)).toEqual([['a', 'b'], ['a', 'c'], ['a', 'd'], ['b', 'd']]);
    // Touching CIs ([0.27] against [0.27]) are not apart.
    expect(separated([{ design: 'x', ci95: [0.27, 1] }, { design: 'y', ci95: [0, 0.27] }])).toEqual([]);
  });
});

describe('findingsStatements', () => {
  it('states per-shift separations and per-shift dilution; none when the CIs overlap', () => {
    const f = findings({ separatedByShift: { s2: [['a', 'b'], ['a', 'c']] }, mixing: [mix('s1', 0.5, [-0.2, 1.1]), mix('s2', 1.28, [0.42, 2.02]), mix('average', 0.7, [0.1, 1.5])] });
    const s = findingsStatements(f);
    expect(s).toContain('On single shifts, sources with non-overlapping 95% CIs on ER: s2: a > b, a > c.');
    expect(s).toContain("Diluted on single shifts (mixture below the best source's line, CI above 0): mix-a25-b75 on s2, 1.28 points [0.42, 2.02] below a's line.");
    const none = findingsStatements(findings({ mixing: [mix('s1', 0.5, [-0.2, 1.1])] }));
    expect(none.some((x) => x.startsWith('On single shifts') || x.startsWith('Diluted on single shifts'))).toBe(false);
  });
});
