import type { Response } from 'express'

/** The statuses a sign-in ends on when it does not succeed. */
export type FailureStatus = 400 | 429 | 502 | 503

const titles: Record<FailureStatus, string> = {
  400: 'Sign-in failed',
  429: 'Too many attempts',
  502: 'Your account’s server could not be reached',
  503: 'Sign-in is not available',
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text safe to place in HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => escapes[char] ?? char)
}

/**
 * A small HTML page that says what happened in words and offers to try again: the
 * browser arrives here by navigation (a form post, the authorization server's redirect),
 * so JSON would be a dead end. No script, no style: the CSP allows neither inline.
 */
export function sendErrorPage(res: Response, status: FailureStatus, sentence: string): void {
  const title = titles[status]
  res
    .status(status)
    .type('html')
    .send(
      [
        '<!doctype html>',
        '<html lang="en">',
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        `<title>${escapeHtml(title)} – cocore account</title>`,
        '<main>',
        `<h1>${escapeHtml(title)}</h1>`,
        `<p>${escapeHtml(sentence)}</p>`,
        '<p><a href="/">Try again</a></p>',
        '</main>',
        '',
      ].join('\n'),
    )
}
