/**
 * What the files of an imported model cannot say, from the import form's text fields (all strings,
 * as multipart sends them; an empty field counts as absent). Validated with zod at the boundary;
 * unknown fields are refused so that a typo does not go unnoticed.
 *
 *   name            display name (required)
 *   id              model id (folder name, URL slug); default: the name as a slug plus a random suffix
 *   latentDim       latent size, when the model's input shape leaves it open
 *   outputRange     `tanh` (output in [-1, 1]) or `sigmoid` ([0, 1]); default: read from the last
 *                   layer's activation when it is one of those
 *   layout          `nhwc`, `nchw` (channels first, e.g. converted from PyTorch) or `flat`
 *                   ([batch, h·w·c]); default: read from the output shape
 *   imageShape      `h,w,c` for flat outputs (default for a flat output of n values: √n × √n × 1)
 *   channelOrder    `rgb` (default) or `bgr`
 *   numClasses      conditional models: number of classes
 *   classInput      conditional models: `concat` (one input: z then the one-hot class), `onehot`
 *                   (a second input of numClasses values) or `label` (a second input holding the
 *                   class index, e.g. for an Embedding layer)
 *   classNames      comma-separated, numClasses of them
 *   latentInput     two-input models: which input (0 or 1) takes z, when shapes cannot tell
 *   dataset         a named data set (mnist, shapes32, shapes64) to evaluate the model on
 *   classifierLabels comma-separated names of the optional attribute classifier's outputs
 *   source          where the model comes from (free text, kept in the card)
 */
import { z } from 'zod';
import { MODEL_ID } from '../training/spec';
import { badRequest } from './errors';
import { MAX_CLASSES, MAX_IMAGE_SIDE, MAX_LATENT_DIM } from './limits';

/** Data sets an imported model may be evaluated on (folders are refused: a path on this server). */
export const IMPORT_DATASETS = ['mnist', 'shapes32', 'shapes64'] as const;

const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = (maxItems: number) =>
  z
    .string()
    .max(20_000)
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.string().min(1, 'names may not be empty').max(64)).max(maxItems));

export const ImportOptionsSchema = z
  .strictObject({
    name: z.string().trim().min(1, 'name is required').max(80),
    id: optional(MODEL_ID),
    latentDim: optional(int(1, MAX_LATENT_DIM)),
    outputRange: optional(z.enum(['tanh', 'sigmoid'])),
    layout: optional(z.enum(['nhwc', 'nchw', 'flat'])),
    imageShape: optional(
      z
        .string()
        .regex(/^\s*\d+\s*[,x×]\s*\d+\s*[,x×]\s*\d+\s*$/, 'imageShape is "height,width,channels", e.g. 28,28,1')
        .transform((s) => s.split(/[,x×]/).map((x) => Number(x.trim())) as [number, number, number])
        .refine(([h, w, c]) => h >= 1 && w >= 1 && h <= MAX_IMAGE_SIDE && w <= MAX_IMAGE_SIDE && (c === 1 || c === 3), {
          message: `imageShape: height and width 1 to ${MAX_IMAGE_SIDE}, channels 1 or 3`,
        }),
    ),
    channelOrder: optional(z.enum(['rgb', 'bgr'])),
    numClasses: optional(int(2, MAX_CLASSES)),
    classInput: optional(z.enum(['concat', 'onehot', 'label'])),
    classNames: optional(list(MAX_CLASSES)),
    latentInput: optional(int(0, 1)),
    dataset: optional(z.enum(IMPORT_DATASETS, { error: () => `dataset: one of ${IMPORT_DATASETS.join(', ')} (folders cannot be named for an import)` })),
    classifierLabels: optional(list(MAX_CLASSES)),
    source: optional(z.string().trim().max(500)),
  })
  .superRefine((o, ctx) => {
    if (o.numClasses !== undefined && o.classInput === undefined) {
      ctx.addIssue({ code: 'custom', path: ['classInput'], message: 'a conditional model (numClasses) needs classInput: concat, onehot or label' });
    }
    if (o.numClasses === undefined && o.classInput !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['numClasses'], message: 'classInput is given but numClasses is not' });
    }
    if (o.classNames && o.classNames.length !== o.numClasses) {
      ctx.addIssue({ code: 'custom', path: ['classNames'], message: `classNames has ${o.classNames.length} names, numClasses is ${o.numClasses ?? 'not given'}` });
    }
    if (o.channelOrder === 'bgr' && o.imageShape && o.imageShape[2] !== 3) {
      ctx.addIssue({ code: 'custom', path: ['channelOrder'], message: 'channelOrder bgr needs 3 channels' });
    }
  });

export type ImportOptions = z.infer<typeof ImportOptionsSchema>;

/** The form's fields → options, or a 400 listing every problem. */
export function parseImportOptions(fields: Record<string, string>): ImportOptions {
  const parsed = ImportOptionsSchema.safeParse(fields);
  if (!parsed.success) {
    throw badRequest(parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  return parsed.data;
}
