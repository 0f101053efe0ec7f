/**
 * The checks of an upload that need no TF.js (./job-worker.ts runs them before it loads TF.js at
 * all, so a refused upload costs little): the form's options, then each model's files
 * (./upload.ts: names, zip, JSON, manifest, topology).
 */
import { badRequest } from './errors';
import { parseImportOptions, type ImportOptions } from './options';
import { validateUpload, type UploadedFile, type ValidatedModel } from './upload';

/** One upload as the HTTP layer read it: files by field, text fields. */
export interface ImportJobInput {
  model: UploadedFile[];
  classifier: UploadedFile[];
  fields: Record<string, string>;
}

/** An upload that passed every check that needs no TF.js. */
export interface CheckedUpload {
  options: ImportOptions;
  generatorFiles: ValidatedModel;
  classifierFiles?: ValidatedModel;
}

export async function checkUpload(input: ImportJobInput): Promise<CheckedUpload> {
  const options = parseImportOptions(input.fields);
  if (input.classifier.length === 0 && options.classifierLabels) throw badRequest('classifierLabels is given but no classifier files are');
  const generatorFiles = await validateUpload(input.model, 'model');
  const classifierFiles = input.classifier.length > 0 ? await validateUpload(input.classifier, 'classifier') : undefined;
  return { options, generatorFiles, ...(classifierFiles ? { classifierFiles } : {}) };
}
