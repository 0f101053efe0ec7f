/**
 * Registers the project's wasm kernels (see each file's header). Returns their names.
 */
export function registerWasmKernels(): string[] {
  return [];
}
