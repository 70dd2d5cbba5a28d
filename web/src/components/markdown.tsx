import DOMPurify from 'dompurify';
import { marked } from 'marked';
import { useMemo } from 'react';

/*
 * User-written Markdown (model cards, descriptions) as HTML that cannot run script: marked renders it,
 * DOMPurify keeps only inert markup (no script, no event handlers, no javascript: links), and the
 * server's Content-Security-Policy forbids inline script besides.
 */
export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false, gfm: true }) as string;
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'] });
}

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: sanitised by DOMPurify just above
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
