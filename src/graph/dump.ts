// A readable text dump of a graph: one line per node with op, attributes, input and output types.
import type { Graph } from './graph.js';
import { typeStr } from './types.js';

function attrStr(attrs: Record<string, unknown>): string {
  const parts = Object.entries(attrs).map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
  return parts.length ? `{${parts.join(' ')}}` : '';
}

export function dumpGraph(g: Graph): string {
  const lines: string[] = [`graph ${g.name}`];
  for (const i of g.inputs) lines.push(`  ${i.kind} ${i.name} = %${i.tensor.id}: ${typeStr(i.tensor)}`);
  for (const c of g.constants) lines.push(`  const %${c.tensor.id}: ${typeStr(c.tensor)}${c.data.length <= 4 ? ` = ${Array.from(c.data as ArrayLike<number | bigint>).join(',')}` : ''}`);
  for (const n of g.nodes) {
    const outs = n.outputs.map((o) => `%${o.id}: ${typeStr(o)}`).join(', ');
    const ins = n.inputs.map((t) => `%${t.id}`).join(', ');
    lines.push(`  ${outs} = ${n.op}${attrStr(n.attrs)}(${ins})${n.scope ? `  # ${n.scope}` : ''}`);
  }
  for (const o of g.outputs) lines.push(`  output ${o.name} = %${o.tensor.id}`);
  return lines.join('\n');
}
