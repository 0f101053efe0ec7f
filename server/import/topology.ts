/**
 * The model topology against allow-lists, before TF.js deserialises it.
 *
 * Layers models: every `class_name` in the topology must be a model (Sequential, Model,
 * Functional), a layer this project lets TF.js build, or an initializer, regularizer or
 * constraint; activations must be named ones. A custom layer (say the `ZLayer` of a VAE encoder)
 * would need code that is not in the upload, so it is refused by name with the list of what is
 * accepted. Numbers that size a layer (units, filters, kernel sizes, target shapes...) must be
 * integers within MAX_CONFIG_VALUE, so that a config cannot make TF.js allocate gigabytes while
 * it builds the layers, before the weights are even compared.
 *
 * Graph models: every node's op must be in an allow-list of stateless, deterministic ops that
 * TF.js runs synchronously (no control flow, no random ops, no hash tables, no strings), function
 * libraries are refused, and every tensor shape written in the graph is capped like a weight's.
 */
import { badRequest, tooLarge } from './errors';
import { isRecord } from './json';
import { MAX_CONFIG_VALUE, MAX_NODES, MAX_WEIGHT_ELEMENTS } from './limits';

export const MODEL_CLASSES = ['Sequential', 'Model', 'Functional'] as const;

export const LAYER_CLASSES = [
  'InputLayer',
  'Dense',
  'Conv1D',
  'Conv2D',
  'Conv2DTranspose',
  'SeparableConv2D',
  'DepthwiseConv2D',
  'UpSampling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Reshape',
  'Flatten',
  'Permute',
  'RepeatVector',
  'Embedding',
  'BatchNormalization',
  'LayerNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Concatenate',
  'Add',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
] as const;

/** class_names allowed inside a layer's config (initializers, regularizers, constraints). */
export const CONFIG_CLASSES = [
  'Zeros',
  'Ones',
  'Constant',
  'RandomUniform',
  'RandomNormal',
  'TruncatedNormal',
  'VarianceScaling',
  'GlorotUniform',
  'GlorotNormal',
  'HeUniform',
  'HeNormal',
  'LeCunUniform',
  'LeCunNormal',
  'Orthogonal',
  'Identity',
  'L1L2',
  'L1',
  'L2',
  'MaxNorm',
  'UnitNorm',
  'NonNeg',
  'MinMaxNorm',
] as const;

export const ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softmax',
  'log_softmax',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
] as const;

export const GRAPH_OPS = [
  'Placeholder',
  'PlaceholderWithDefault',
  'Const',
  'Identity',
  'IdentityN',
  'NoOp',
  'StopGradient',
  'Snapshot',
  'Shape',
  'Rank',
  'Size',
  // arithmetic and activations
  'Add',
  'AddV2',
  'AddN',
  'BiasAdd',
  'Sub',
  'Mul',
  'RealDiv',
  'Div',
  'DivNoNan',
  'Maximum',
  'Minimum',
  'Pow',
  'SquaredDifference',
  'Neg',
  'Abs',
  'Square',
  'Sqrt',
  'Rsqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Erf',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'ClipByValue',
  'Tanh',
  'Sigmoid',
  'Relu',
  'Relu6',
  'Elu',
  'Selu',
  'LeakyRelu',
  'Prelu',
  'Softplus',
  'Softmax',
  'LogSoftmax',
  // linear algebra and convolution
  'MatMul',
  '_FusedMatMul',
  'BatchMatMul',
  'BatchMatMulV2',
  'Conv2D',
  '_FusedConv2D',
  'Conv2DBackpropInput',
  'DepthwiseConv2d',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2dNative',
  'AvgPool',
  'MaxPool',
  'FusedBatchNorm',
  'FusedBatchNormV2',
  'FusedBatchNormV3',
  'Mean',
  'Sum',
  'Max',
  'Min',
  // shapes
  'Reshape',
  'Transpose',
  'ConcatV2',
  'Concat',
  'Pack',
  'Unpack',
  'Squeeze',
  'ExpandDims',
  'StridedSlice',
  'Slice',
  'Split',
  'SplitV',
  'Pad',
  'PadV2',
  'MirrorPad',
  'Tile',
  'Fill',
  'ZerosLike',
  'OnesLike',
  'Cast',
  'OneHot',
  'GatherV2',
  'ResizeNearestNeighbor',
  'ResizeBilinear',
  'DepthToSpace',
  'Select',
  'SelectV2',
] as const;

const MODEL_SET = new Set<string>(MODEL_CLASSES);
const LAYER_SET = new Set<string>(LAYER_CLASSES);
const CONFIG_SET = new Set<string>(CONFIG_CLASSES);
const ACTIVATION_SET = new Set<string>(ACTIVATIONS);
const OP_SET = new Set<string>(GRAPH_OPS);
const ACTIVATION_KEYS = new Set(['activation', 'recurrent_activation']);

export interface TopologySummary {
  /** Layers (layers models, nested models' layers included) or nodes (graph models). */
  count: number;
  /** Layer classes or ops used, sorted. */
  kinds: string[];
}

function listed(items: readonly string[]): string {
  return items.join(', ');
}

/** Every number under `value` (a config entry), recursively through arrays. */
function numbersIn(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) numbersIn(v, out);
  else if (value !== null) out.push(value);
  return out;
}

function checkLayerConfig(config: Record<string, unknown>, where: string): void {
  // class_name anywhere inside the config: initializers, regularizers, constraints only.
  const stack: unknown[] = [config];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    if (!isRecord(v)) continue;
    const cls = v['class_name'];
    if (cls !== undefined && v !== config) {
      if (typeof cls !== 'string' || !CONFIG_SET.has(cls)) {
        throw badRequest(`${where}: its config names class ${JSON.stringify(cls)}, which is not an initializer, regularizer or constraint this server builds (allowed: ${listed(CONFIG_CLASSES)})`);
      }
    }
    for (const [key, x] of Object.entries(v)) {
      if (ACTIVATION_KEYS.has(key) && x !== null && x !== undefined) {
        if (typeof x !== 'string' || !ACTIVATION_SET.has(x)) {
          throw badRequest(`${where}: activation ${JSON.stringify(x)} is not one this server runs (allowed: ${listed(ACTIVATIONS)})`);
        }
      }
      stack.push(x);
    }
  }
  for (const [key, cap] of Object.entries(MAX_CONFIG_VALUE)) {
    if (!(key in config)) continue;
    const value = config[key];
    if (typeof value === 'string') continue; // e.g. padding: 'same'
    for (const n of numbersIn(value)) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > cap) {
        throw badRequest(`${where}: ${key} ${JSON.stringify(value)} is absurd or malformed (each value must be an integer up to ${cap})`);
      }
    }
  }
}

/**
 * Checks a layers model's topology (model.json `modelTopology`, Keras JSON with snake_case keys);
 * throws a 400 naming the first refused layer.
 */
export function checkLayersTopology(topology: Record<string, unknown>, file: string): TopologySummary {
  const root = isRecord(topology['model_config']) ? topology['model_config'] : topology;
  const kinds = new Set<string>();
  let count = 0;

  function visitModel(node: Record<string, unknown>, where: string): void {
    const cls = node['class_name'];
    if (typeof cls !== 'string' || !MODEL_SET.has(cls)) {
      throw badRequest(`${where}: the top level must be a model (${listed(MODEL_CLASSES)}), not ${JSON.stringify(cls)}`);
    }
    const config = node['config'];
    // Sequential configs of old TF.js versions are the layer list itself.
    const layers = Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined;
    if (!Array.isArray(layers)) throw badRequest(`${where}: config.layers is not a list`);
    layers.forEach((layer: unknown, i: number) => {
      if (!isRecord(layer)) throw badRequest(`${where}: layer ${i} is not an object`);
      const lc = layer['class_name'];
      const lconf = layer['config'];
      const name = isRecord(lconf) && typeof lconf['name'] === 'string' ? lconf['name'] : typeof layer['name'] === 'string' ? layer['name'] : `#${i}`;
      const at = `${where}: layer ${JSON.stringify(name)}`;
      count++;
      if (count > MAX_NODES) throw tooLarge(`${file}: more than ${MAX_NODES} layers`);
      if (typeof lc === 'string' && MODEL_SET.has(lc)) {
        visitModel(layer, `${at} (a nested ${lc})`);
        return;
      }
      if (typeof lc !== 'string' || !LAYER_SET.has(lc)) {
        throw badRequest(
          `${at} has class ${JSON.stringify(lc)}, which this server does not load: custom layers need code that is not ` +
            `part of the upload. Allowed layer classes: ${listed(LAYER_CLASSES)}`,
        );
      }
      kinds.add(lc);
      if (!isRecord(lconf)) throw badRequest(`${at}: config is not an object`);
      checkLayerConfig(lconf, at);
      // inbound_nodes and other per-layer fields may carry kwargs objects: no classes there either.
      for (const [key, v] of Object.entries(layer)) {
        if (key !== 'config' && key !== 'class_name' && JSON.stringify(v ?? null).includes('"class_name"')) {
          throw badRequest(`${at}: ${key} names a class, which is not allowed there`);
        }
      }
    });
  }

  if (!isRecord(root)) throw badRequest(`${file}: modelTopology is not an object`);
  visitModel(root, file);
  return { count, kinds: [...kinds].sort() };
}

/** Elements of a TensorFlow shape proto ({ dim: [{ size: '3' }, ...] }); -1 dims count as 1. */
function protoShapeElements(shape: Record<string, unknown>, where: string): number {
  const dims = shape['dim'];
  if (dims === undefined) return 1;
  if (!Array.isArray(dims) || dims.length > 8) throw badRequest(`${where}: malformed tensor shape`);
  let n = 1;
  for (const d of dims) {
    const size = isRecord(d) ? Number(d['size'] ?? 0) : NaN;
    if (!Number.isInteger(size) || size < -1) throw badRequest(`${where}: malformed tensor shape`);
    n *= Math.max(size, 1);
    if (n > MAX_WEIGHT_ELEMENTS) throw badRequest(`${where}: a tensor shape is absurd: more than ${MAX_WEIGHT_ELEMENTS} elements`);
  }
  return n;
}

/** Checks a graph model's topology (a GraphDef as JSON); throws a 400 naming the first refused node. */
export function checkGraphTopology(topology: Record<string, unknown>, file: string): TopologySummary {
  const nodes = topology['node'];
  if (!Array.isArray(nodes)) throw badRequest(`${file}: modelTopology.node is not a list`);
  if (nodes.length > MAX_NODES) throw tooLarge(`${file}: ${nodes.length} nodes, more than the ${MAX_NODES} allowed`);
  const library = topology['library'];
  if (isRecord(library) && Array.isArray(library['function']) && library['function'].length > 0) {
    throw badRequest(`${file}: the graph defines functions (control flow such as while loops or conditionals), which this server does not run`);
  }
  const kinds = new Set<string>();
  const names = new Set<string>();
  nodes.forEach((node: unknown, i: number) => {
    if (!isRecord(node)) throw badRequest(`${file}: node ${i} is not an object`);
    const name = node['name'];
    const op = node['op'];
    if (typeof name !== 'string' || name.length === 0 || name.length > 512) throw badRequest(`${file}: node ${i} has no valid name`);
    const at = `${file}: node ${JSON.stringify(name)}`;
    if (names.has(name)) throw badRequest(`${at} is defined twice`);
    names.add(name);
    if (typeof op !== 'string' || !OP_SET.has(op)) {
      throw badRequest(`${at} uses op ${JSON.stringify(op)}, which this server does not run (allowed: ${listed(GRAPH_OPS)})`);
    }
    kinds.add(op);
    const input = node['input'];
    if (input !== undefined && (!Array.isArray(input) || !input.every((x) => typeof x === 'string'))) throw badRequest(`${at}: input is not a list of names`);
    // Every shape written in the node (Const values, Placeholder shapes) is capped like a weight.
    const stack: unknown[] = [node['attr']];
    while (stack.length > 0) {
      const v = stack.pop();
      if (Array.isArray(v)) stack.push(...v);
      else if (isRecord(v)) {
        for (const [key, x] of Object.entries(v)) {
          if ((key === 'tensorShape' || key === 'shape') && isRecord(x)) protoShapeElements(x, at);
          stack.push(x);
        }
      }
    }
  });
  return { count: nodes.length, kinds: [...kinds].sort() };
}
