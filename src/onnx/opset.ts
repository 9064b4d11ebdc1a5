import { InspectdError } from '../core/errors.js';
import { defaultOpset } from './compose.js';
import { AttributeType, type GraphProto, type ModelProto, type NodeProto } from './proto.js';
import { int64Tensor } from './tensor.js';

/** Reduce operators whose `axes` moved from an attribute to an input at opset 18 (ReduceSum moved at 13). */
const AXES_INPUT_AT_18 = new Set([
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceProd',
  'ReduceSumSquare',
]);

/** The oldest opset converted: below it, more operators changed than are rewritten here. */
export const OLDEST_CONVERTED_OPSET = 13;

/**
 * Raises the default-domain opset of `model` to `target` (in place; returns it), rewriting the operators whose
 * meaning changed between the two so the model computes the same: Reduce* `axes` attributes become inputs
 * (18), a Split without sizes states its output count (18), RoiAlign keeps its old pixel convention (16).
 * Every other operator of opsets 13 to 18 reads the same at 18. Used to compose opset-18 operators
 * (antialiased Resize) in front of a model exported at an older opset.
 */
export function upgradeOpset(model: ModelProto, target: number, label: string): ModelProto {
  const from = defaultOpset(model);
  if (from >= target) return model;
  if (from < OLDEST_CONVERTED_OPSET) {
    throw new InspectdError(`model ${label} uses opset ${from}; inspectd composes models of opset >= 13`, {
      subject: label,
      value: from,
      fix: 'export it again with opset 13 or later (scripts/export_backbone.py --opset 13)',
    });
  }
  let counter = 0;
  const upgradeGraph = (g: GraphProto): void => {
    for (const node of (g.node ?? []) as NodeProto[]) {
      if (!node.domain || node.domain === 'ai.onnx') {
        upgradeNode(node, from, target, (axes) => {
          const name = `inspectd/opset/axes_${counter++}`;
          (g.initializer ??= []).push(int64Tensor(name, [axes.length], axes));
          return name;
        });
      }
      for (const a of node.attribute ?? []) {
        if (a.g) upgradeGraph(a.g);
        for (const sub of a.graphs ?? []) upgradeGraph(sub);
      }
    }
  };
  upgradeGraph(model.graph!);
  for (const o of model.opsetImport) if (!o.domain || o.domain === 'ai.onnx') o.version = target;
  return model;
}

function upgradeNode(
  node: NodeProto,
  from: number,
  target: number,
  constant: (axes: number[]) => string,
): void {
  const attrs = node.attribute ?? [];
  const attr = (name: string) => attrs.find((a) => a.name === name);
  const op = node.opType ?? '';
  if (target >= 18 && from < 18 && AXES_INPUT_AT_18.has(op)) {
    const axes = attr('axes');
    if (axes) {
      node.attribute = attrs.filter((a) => a !== axes);
      node.input = [node.input![0], constant((axes.ints ?? []).map(Number))];
    }
  }
  if (target >= 18 && from < 18 && op === 'Split' && !node.input?.[1]) {
    attrs.push({ name: 'num_outputs', type: AttributeType.INT, i: node.output?.length ?? 1 });
    node.attribute = attrs;
  }
  if (target >= 16 && from < 16 && op === 'RoiAlign' && !attr('coordinate_transformation_mode')) {
    attrs.push({
      name: 'coordinate_transformation_mode',
      type: AttributeType.STRING,
      s: new TextEncoder().encode('output_half_pixel'),
    });
    node.attribute = attrs;
  }
}
