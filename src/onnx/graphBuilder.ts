import {
  AttributeType,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from './proto.js';
import { float32Tensor, int64Tensor } from './tensor.js';

/** Integers are INT attributes; write `{ f: 0.5 }` for a FLOAT one. */
export type AttrValue =
  | number
  | string
  | readonly number[]
  | { f: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] };

/**
 * Builds nodes and initializers for a graph fragment (a scoring head) under a name prefix, so it can be
 * appended to any backbone without name clashes. Knows the default-domain opset, because a few operators
 * moved attributes to inputs between versions (ReduceMax axes: attribute < 18, input >= 18).
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  constructor(
    readonly opset: number,
    private readonly prefix = 'inspectd/',
  ) {}

  name(hint: string): string {
    return `${this.prefix}${hint}_${this.counter++}`;
  }

  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    hint = opType,
  ): string {
    const out = this.name(hint);
    this.nodes.push({ opType, name: out, input: [...inputs], output: [out], attribute: toAttributes(attrs) });
    return out;
  }

  /** A node whose output name is chosen by the caller (graph outputs). */
  opNamed(
    output: string,
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
  ): string {
    this.nodes.push({
      opType,
      name: output,
      input: [...inputs],
      output: [output],
      attribute: toAttributes(attrs),
    });
    return output;
  }

  /**
   * An If node: `then` and `otherwise` each build a branch (they may use any value built so far) and return
   * its outputs, of element types `types`, in the same order. Returns the If node's outputs. Constants the
   * branches make go to the enclosing graph, where both branches see them.
   */
  ifElse(
    cond: string,
    types: readonly number[],
    then: (b: GraphBuilder) => string[],
    otherwise: (b: GraphBuilder) => string[],
    hint = 'if',
  ): string[] {
    const branch = (build: (b: GraphBuilder) => string[], name: string): GraphProto => {
      const b = new GraphBuilder(this.opset, `${this.name(name)}/`);
      const outs = build(b);
      this.initializers.push(...b.initializers);
      // A branch output must be produced inside the branch: an outer value passes through Identity.
      const own = new Set(b.nodes.flatMap((n) => n.output ?? []));
      const names = outs.map((o) => (own.has(o) ? o : b.op('Identity', [o])));
      return {
        name,
        node: b.nodes,
        output: names.map((n, i) => ({ name: n, type: { tensorType: { elemType: types[i] } } })),
      };
    };
    const outputs = types.map(() => this.name(hint));
    this.nodes.push({
      opType: 'If',
      name: outputs[0],
      input: [cond],
      output: outputs,
      attribute: [
        { name: 'then_branch', type: AttributeType.GRAPH, g: branch(then, 'then') },
        { name: 'else_branch', type: AttributeType.GRAPH, g: branch(otherwise, 'else') },
      ],
    });
    return outputs;
  }

  float32(hint: string, dims: readonly number[], data: Float32Array): string {
    const name = this.name(hint);
    this.initializers.push(float32Tensor(name, dims, data));
    return name;
  }

  int64(hint: string, data: readonly number[]): string {
    const name = this.name(hint);
    this.initializers.push(int64Tensor(name, [data.length], data));
    return name;
  }

  // ---- operators whose signature changed across opsets -------------------------------------------------

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 13)
      return this.op('ReduceSum', [x, this.int64('axes', axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceSum', [x], { axes: { ints: axes }, keepdims: keepdims ? 1 : 0 });
  }

  reduceMax(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 18)
      return this.op('ReduceMax', [x, this.int64('axes', axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMax', [x], { axes: { ints: axes }, keepdims: keepdims ? 1 : 0 });
  }

  /** Bilinear resize of an NCHW tensor to the spatial size of `like` (PyTorch align_corners=False). */
  resizeBilinearLike(x: string, like: string): string {
    if (this.opset < 11) throw new Error(`bilinear resize needs opset >= 11, the model has ${this.opset}`);
    const nc = this.op('Slice', [this.op('Shape', [x]), this.int64('start', [0]), this.int64('end', [2])]);
    const hw = this.op('Slice', [this.op('Shape', [like]), this.int64('start', [2]), this.int64('end', [4])]);
    const sizes = this.op('Concat', [nc, hw], { axis: 0 });
    return this.op('Resize', [x, '', '', sizes], {
      mode: 'linear',
      coordinate_transformation_mode: 'half_pixel',
    });
  }
}

function toAttributes(attrs: Record<string, AttrValue>): AttributeProto[] {
  return Object.entries(attrs).map(([name, v]) => {
    if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
    if (typeof v === 'number') {
      if (!Number.isInteger(v))
        throw new Error(`attribute ${name}: ${v} is not an integer; write { f: ${v} }`);
      return { name, type: AttributeType.INT, i: v };
    }
    if ('f' in v) return { name, type: AttributeType.FLOAT, f: v.f };
    if ('floats' in v) return { name, type: AttributeType.FLOATS, floats: [...v.floats] };
    if ('ints' in v) return { name, type: AttributeType.INTS, ints: [...v.ints] };
    return { name, type: AttributeType.INTS, ints: [...(v as readonly number[])] };
  });
}
