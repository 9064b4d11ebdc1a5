import { InspectdError } from '../core/errors.js';
import type { GraphBuilder } from './graphBuilder.js';
import { onnx, toNumber, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.js';

export interface GraphOutput {
  name: string;
  /** Dimensions; strings are symbolic (e.g. 'N'). */
  dims: (number | string)[];
  /** Element type; float32 when absent. */
  elemType?: number;
}

/** The default-domain opset of a model. */
export function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return toNumber(entry?.version);
}

export const outputNames = (model: ModelProto): string[] =>
  (model.graph?.output ?? []).map((o) => o.name ?? '');

/** Fails with the list of what the model has when a requested output is missing. */
export function requireOutputs(model: ModelProto, wanted: readonly string[], modelLabel: string): void {
  const have = outputNames(model);
  const missing = wanted.filter((w) => !have.includes(w));
  if (missing.length) {
    throw new InspectdError(
      `backbone ${modelLabel} has no output ${missing.map((m) => `"${m}"`).join(', ')}; it has: ${have.join(', ')}`,
      { subject: modelLabel, value: missing, fix: `pass --layers with names from: ${have.join(',')}` },
    );
  }
}

/**
 * Returns a new model: the backbone's graph with the fragment appended, its outputs replaced by `outputs`,
 * and every node and weight no output depends on removed (e.g. a deeper level the recipe does not use).
 */
export function appendHead(
  backbone: ModelProto,
  head: GraphBuilder,
  outputs: readonly GraphOutput[],
  metadata: Record<string, string>,
): ModelProto {
  const g = backbone.graph!;
  const nodes = [...(g.node as NodeProto[]), ...head.nodes];
  const inits = [...(g.initializer ?? []), ...head.initializers];
  const kept = reachableNodes(
    nodes,
    outputs.map((o) => o.name),
  );
  const used = new Set(kept.flatMap((n) => n.input ?? []));
  const keptInits = inits.filter((t) => used.has(t.name ?? ''));
  const initNames = new Set(keptInits.map((t) => t.name));
  const graph = onnx.GraphProto.create({
    name: `${g.name ?? 'backbone'}+inspectd`,
    node: kept,
    initializer: keptInits,
    input: (g.input ?? []).filter((i) => !initNames.has(i.name ?? '') && used.has(i.name ?? '')),
    output: outputs.map(valueInfo),
    valueInfo: [],
  });
  return onnx.ModelProto.create({
    irVersion: backbone.irVersion,
    opsetImport: backbone.opsetImport,
    producerName: 'inspectd',
    producerVersion: metadata['inspectd.version'] ?? '',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
}

/**
 * Puts `front` before the model's graph: the front computes the graph input `replaces` from its own `input`,
 * which takes that input's place; `extraOutputs` (computed by the front) are added to the graph's outputs.
 * The model is changed in place and returned.
 */
export function prependFront(
  model: ModelProto,
  front: GraphBuilder,
  input: GraphOutput,
  replaces: string,
  extraOutputs: readonly GraphOutput[],
): ModelProto {
  const g = model.graph!;
  if (!(g.input ?? []).some((i) => i.name === replaces))
    throw new Error(`the model has no input ${replaces} for the front to feed`);
  g.node = [...front.nodes, ...(g.node ?? [])];
  g.initializer = [...front.initializers, ...(g.initializer ?? [])];
  g.input = [valueInfo(input), ...(g.input ?? []).filter((i) => i.name !== replaces)];
  g.output = [...(g.output ?? []), ...extraOutputs.map(valueInfo)];
  return model;
}

/**
 * Nodes needed to compute `targets`, in their original (topological) order; tensors in `stopAt` count as
 * given (the walk does not go past the nodes that produce them).
 */
export function reachableNodes(
  nodes: NodeProto[],
  targets: readonly string[],
  stopAt: readonly string[] = [],
): NodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.output?.forEach((o) => producer.set(o, i)));
  const keep = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const name = stack.pop()!;
    const i = stopAt.includes(name) ? undefined : producer.get(name);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    for (const input of nodes[i].input ?? []) if (input) stack.push(input);
  }
  return nodes.filter((_, i) => keep.has(i));
}

function valueInfo(o: GraphOutput): ValueInfoProto {
  return {
    name: o.name,
    type: {
      tensorType: {
        elemType: o.elemType ?? onnx.TensorProto.DataType.FLOAT,
        shape: { dim: o.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** A model made of a fragment alone, with declared float inputs (tests and small utility graphs). */
export function modelFromFragment(
  fragment: GraphBuilder,
  inputs: readonly GraphOutput[],
  outputs: readonly GraphOutput[],
): ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: fragment.opset }],
    producerName: 'inspectd',
    graph: onnx.GraphProto.create({
      name: 'fragment',
      node: fragment.nodes,
      initializer: fragment.initializers,
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
    }),
  });
}
