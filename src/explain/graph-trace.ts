/**
 * Following tensors through an ONNX graph: back from an operator to the model input through
 * nodes that do not change values (Identity, Cast), and forward from an operator to the output
 * the model serves, noting a Sigmoid or Softmax on the way.
 */
import type { ModelSchema } from '../core/model-schema.js';
import type { OnnxGraph, OnnxNode } from '../runtime/onnx/onnx-graph.reader.js';
import { OutputHead } from './output-head.js';

const PASS_THROUGH = new Set(['Identity', 'Cast']);

export interface GraphIndex {
  producer: Map<string, OnnxNode>;
  consumers: Map<string, OnnxNode[]>;
}

export function indexGraph(graph: OnnxGraph): GraphIndex {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const node of graph.nodes) {
    for (const o of node.outputs) producer.set(o, node);
    for (const i of node.inputs) {
      const list = consumers.get(i) ?? [];
      list.push(node);
      consumers.set(i, list);
    }
  }
  return { producer, consumers };
}

export interface InputTrace {
  /** The tensor the chain starts from (a graph input when producer is undefined). */
  origin: string;
  /** The first node that is not a pass-through, if the chain stops at one. */
  producer?: OnnxNode;
}

/** Walks back from `tensor` through Identity / Cast nodes. */
export function traceBack(index: GraphIndex, tensor: string): InputTrace {
  let name = tensor;
  for (let guard = 0; guard < 64; guard++) {
    const p = index.producer.get(name);
    if (!p) return { origin: name };
    if (!PASS_THROUGH.has(p.opType) || p.domain !== '') return { origin: name, producer: p };
    name = p.inputs[0]!;
  }
  return { origin: name, producer: index.producer.get(name) };
}

/** The packed [N, F] model input the features go through, if the schema says there is one. */
export function packedInput(schema: ModelSchema | undefined): { name: string; width: number } | undefined {
  const b = schema?.binding;
  if (!b || b.mode !== 'packed') return undefined;
  const width = b.input.shape.length === 2 ? b.input.shape[1]! : 1;
  return { name: b.input.name, width };
}

export type ForwardLink = 'none' | 'sigmoid' | 'softmax';

/**
 * From an operator's output to `target` (the output the model serves), through pass-through
 * nodes and at most one Sigmoid or Softmax. Undefined when `target` is not reached that way.
 */
export function traceForward(index: GraphIndex, from: string, target: string): ForwardLink | undefined {
  let link: ForwardLink = 'none';
  const visit = (name: string, depth: number): ForwardLink | undefined => {
    if (name === target) return link;
    if (depth > 16) return undefined;
    for (const node of index.consumers.get(name) ?? []) {
      if (node.domain !== '') continue;
      if (PASS_THROUGH.has(node.opType)) {
        const r = visit(node.outputs[0]!, depth + 1);
        if (r) return r;
      } else if ((node.opType === 'Sigmoid' || node.opType === 'Softmax') && link === 'none') {
        link = node.opType === 'Sigmoid' ? 'sigmoid' : 'softmax';
        const r = visit(node.outputs[0]!, depth + 1);
        if (r) return r;
        link = 'none';
      }
    }
    return undefined;
  };
  return visit(from, 0);
}

/** The output the explanations are about: the probabilities for classifiers, else the value. */
export function explainedOutput(schema: ModelSchema | undefined): string | undefined {
  return schema?.probabilitiesOutput ?? schema?.valueOutput;
}

export const attrNumbers = (node: OnnxNode, name: string): number[] | undefined => {
  const v = node.attributes.get(name);
  return Array.isArray(v) ? (v as number[]) : undefined;
};
export const attrStrings = (node: OnnxNode, name: string): string[] | undefined => {
  const v = node.attributes.get(name);
  return Array.isArray(v) ? (v as string[]) : undefined;
};
export const attrString = (node: OnnxNode, name: string): string | undefined => {
  const v = node.attributes.get(name);
  return typeof v === 'string' ? v : undefined;
};
export const attrInt = (node: OnnxNode, name: string): number | undefined => {
  const v = node.attributes.get(name);
  return typeof v === 'number' ? v : undefined;
};

/**
 * The head a model's served output has: the operator's own, or a Sigmoid / Softmax the graph
 * applies to its scores. A string is the reason the output cannot be explained from the scores.
 */
export function servedHead(
  index: GraphIndex,
  scores: string | undefined,
  schema: ModelSchema | undefined,
  head: OutputHead,
): { head: OutputHead; linked: boolean } | string {
  const served = explainedOutput(schema);
  if (served === undefined || scores === undefined) return { head, linked: false };
  const link = traceForward(index, scores, served);
  if (link === undefined) return `the model's output '${served}' is not computed from the model's scores alone`;
  if (link === 'none') return { head, linked: false };
  if (!head.identity) return `the operator applies ${head.describe()} and the graph applies ${link} after it`;
  if (link === 'sigmoid' && head.nScores === 1) return { head: OutputHead.single('logistic', 'one-minus'), linked: true };
  if (link === 'softmax' && head.layout === 'vector' && head.nScores > 1) return { head: OutputHead.vector(head.nScores, 'SOFTMAX'), linked: true };
  return `the graph applies ${link} to ${head.nScores} scores`;
}
