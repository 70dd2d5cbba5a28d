/*
 * What node:* imports resolve to in the browser build (see vite.config.ts). The client's stream and
 * file helpers exist for the CLI; the UI reads artifacts and files through fetch instead.
 */
function unavailable(): never {
  throw new Error('this part of the Sextant client needs Node.js and is not available in the browser');
}
const stub = new Proxy(unavailable, { get: () => unavailable });
export const Readable = stub;
export const createHash = unavailable;
export const randomBytes = unavailable;
export const createReadStream = unavailable;
export const mkdir = unavailable;
export const open = unavailable;
export const rename = unavailable;
export const rm = unavailable;
export const pipeline = unavailable;
export default stub;
