// Small dense linear algebra for the theory model (d ≈ 40): vectors as number[], symmetric matrices as
// row-major number[][], and a Cholesky solve.

export type Vec = number[];
export type Mat = number[][];

export function dot(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function scale(a: Vec, c: number): Vec {
  return a.map((v) => v * c);
}

export function add(a: Vec, b: Vec): Vec {
  return a.map((v, i) => v + b[i]!);
}

export function norm(a: Vec): number {
  return Math.sqrt(dot(a, a));
}

export function zeros(d: number): Mat {
  return Array.from({ length: d }, () => new Array<number>(d).fill(0));
}

export function identity(d: number, c = 1): Mat {
  const m = zeros(d);
  for (let i = 0; i < d; i++) m[i]![i] = c;
  return m;
}

export function diag(v: Vec): Mat {
  const m = zeros(v.length);
  v.forEach((x, i) => (m[i]![i] = x));
  return m;
}

/** m += c·a·bᵀ, in place. */
export function addOuter(m: Mat, a: Vec, b: Vec, c = 1): Mat {
  for (let i = 0; i < a.length; i++) {
    const ai = c * a[i]!;
    const row = m[i]!;
    for (let j = 0; j < b.length; j++) row[j]! += ai * b[j]!;
  }
  return m;
}

export function addMat(a: Mat, b: Mat, cb = 1): Mat {
  return a.map((row, i) => row.map((v, j) => v + cb * b[i]![j]!));
}

export function matVec(m: Mat, v: Vec): Vec {
  return m.map((row) => dot(row, v));
}

/** xᵀ·M·x. */
export function quadForm(m: Mat, x: Vec): number {
  return dot(x, matVec(m, x));
}

/** Solve A·x = b for symmetric positive definite A (Cholesky). */
export function solveSpd(a: Mat, b: Vec): Vec {
  const n = b.length;
  const l = zeros(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (s <= 0) throw new Error('solveSpd: matrix is not positive definite');
        l[i]![i] = Math.sqrt(s);
      } else l[i]![j] = s / l[j]![j]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}
