/*
 * The small pieces every part of the compliance document is written with: escaping (every value is
 * user text until proven otherwise), tables, badges and the words shown for "nothing here".
 */

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESC[c]!);
}
export const e = escapeHtml;

export const dash = '–';
export const text = (v: string | null | undefined) =>
  v === null || v === undefined || v === '' ? dash : e(v);
export const code = (v: string | null | undefined) => (v ? `<code>${e(v)}</code>` : dash);
export const num = (v: number | string | null | undefined) =>
  v === null || v === undefined ? dash : typeof v === 'number' ? e(String(Number(v.toPrecision(6)))) : e(v);
export const badge = (s: string) => `<span class="${e(s.toLowerCase())}">${e(s.replace(/_/g, ' '))}</span>`;
export const empty = (words: string) => `<p class="empty">${e(words)}</p>`;

export function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

export function table(head: string[], rows: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</table>`;
}
