import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { useMemo } from 'react';

/*
 * User-written Markdown (model cards, descriptions) as HTML that cannot run script. Raw HTML in the
 * text is shown as text, never parsed; DOMPurify then keeps only inert markup (no javascript: links),
 * and the server's Content-Security-Policy forbids inline script besides.
 */
const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const marked = new Marked({ gfm: true, renderer: { html: ({ text }) => escapeHtml(text) } });

export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: raw HTML escaped and the rest sanitised just above
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
