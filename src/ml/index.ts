/** The built-in trainers (linear, gradient-boosted trees) and their ONNX export. */
export * from './trainers/index.js';
