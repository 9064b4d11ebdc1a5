import { InspectdError } from '../../core/errors.js';
import { reachableNodes } from '../../onnx/compose.js';
import type { GraphBuilder } from '../../onnx/graphBuilder.js';
import type { ModelProto, NodeProto } from '../../onnx/proto.js';

/**
 * S000 scores E_i(X^): the reconstruction encoded again. The encoder is already in the model (it computes
 * e1..ek from `input`: the model's input, or a tensor inside it such as the backbone levels F a feature
 * autoencoder encodes), so this copies the nodes between `input` and `targets` into the fragment, with
 * `replacement` in place of `input` and every intermediate tensor renamed; the weights (initializers) are
 * shared, not copied. Returns the new names of `targets`, in order.
 */
export function reencode(
  b: GraphBuilder,
  model: ModelProto,
  input: string,
  replacement: string,
  targets: readonly string[],
): string[] {
  const nodes = (model.graph?.node ?? []) as NodeProto[];
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  for (const t of targets) {
    if (!produced.has(t)) {
      throw new InspectdError(`the model computes no tensor "${t}" to encode the reconstruction with`, {
        subject: t,
        fix: 'export the model with scripts/train_multilevel.py (outputs z, recon, e1..e4)',
      });
    }
  }
  const encoder = reachableNodes(nodes, targets, [input]);
  const renamed = new Map<string, string>();
  const prefix = b.name('reencode');
  const rename = (x: string): string => (x === input ? replacement : (renamed.get(x) ?? x));
  for (const [i, n] of encoder.entries()) {
    if ((n.attribute ?? []).some((a) => a.g || (a.graphs?.length ?? 0) > 0)) {
      throw new InspectdError(`encoder node ${n.name ?? n.opType} has a subgraph; it cannot be re-encoded`, {
        subject: n.name ?? String(n.opType),
        fix: 'export the encoder without control flow (scripts/train_multilevel.py does)',
      });
    }
    const outputs = (n.output ?? []).map((o) => {
      const name = `${prefix}/${o}`;
      renamed.set(o, name);
      return name;
    });
    b.nodes.push({
      ...n,
      name: `${prefix}/${n.name ?? i}`,
      input: (n.input ?? []).map(rename),
      output: outputs,
    });
  }
  const uses = encoder.some((n) => (n.input ?? []).includes(input));
  if (!uses) {
    throw new InspectdError(`"${targets.join(', ')}" do not depend on the input "${input}"`, {
      subject: input,
      fix: 'pass the encoder levels of the model (e1..ek)',
    });
  }
  return targets.map((t) => renamed.get(t)!);
}
