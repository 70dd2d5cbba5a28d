export * from './clock.js';
export * from './config.js';
export * from './errors.js';
export * from './hashing.js';
export * from './ids.js';
export * from './logger.js';
export * from './random.js';
export * from './validate.js';
