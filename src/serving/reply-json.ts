import type { PredictionOutput } from './serving.schema.js';

/*
 * The JSON text of a predict reply's items, built from the JSON text of each record's outputs. The
 * prediction log writes that same text for outputs it cannot keep as columns (a model's raw outputs:
 * a label and a probability list per record), so each output is written as JSON once per request,
 * not once for the log and again for the reply; formatting the probabilities' numbers is most of it.
 *
 * An item is { prediction_id, model, version, prediction, probabilities?, outputs?, unseen_categories? }
 * with prediction, probabilities and outputs copied from the record's output: its text is the item's
 * own head, then the output's text without its braces, when the output holds exactly those keys in
 * that order (what JSON.stringify of the item would write). Any other output gives no text, and the
 * caller stringifies the items as before.
 */

/** Whether JSON.stringify(o) is the tail an item copied from `o` would write (see above). */
function isItemTail(o: PredictionOutput): boolean {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return false;
  let at = 0;
  for (const k in o) {
    if (at === 0 && k === 'prediction') at = 1;
    else if (at === 1 && k === 'probabilities') at = 2;
    else if (at >= 1 && at <= 2 && k === 'outputs') at = 3;
    else return false;
  }
  return at > 0 && Object.getPrototypeOf(o) === Object.prototype;
}

/** The JSON text of each output, as JSON.stringify writes it. */
export function outputsJsonOf(outputs: readonly PredictionOutput[]): string[] {
  const json = new Array<string>(outputs.length);
  for (let i = 0; i < outputs.length; i++) json[i] = JSON.stringify(outputs[i]);
  return json;
}

/**
 * The JSON text of the items (an array) of records answered by `model`@`version`, or undefined when
 * an output does not fit (see above). `unseen[i]`, when set, is record i's unseen categories.
 */
export function itemsJsonOf(
  ids: readonly string[],
  model: string,
  version: number,
  outputs: readonly PredictionOutput[],
  outputsJson: readonly string[],
  unseen: readonly (Record<string, string> | undefined)[] | null,
): string | undefined {
  const head = `,"model":${JSON.stringify(model)},"version":${JSON.stringify(version)}`;
  let text = '[';
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i] as PredictionOutput;
    if (!isItemTail(o)) return undefined;
    const tail = outputsJson[i] as string;
    text += `${i === 0 ? '' : ','}{"prediction_id":${JSON.stringify(ids[i])}${head}`;
    if (tail.length > 2) text += `,${tail.slice(1, -1)}`;
    const u = unseen?.[i];
    text += u === undefined ? '}' : `,"unseen_categories":${JSON.stringify(u)}}`;
  }
  return `${text}]`;
}
