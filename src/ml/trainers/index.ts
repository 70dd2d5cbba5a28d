/** Built-in trainers and their ONNX export (placeholder until that work lands). */
export {};
