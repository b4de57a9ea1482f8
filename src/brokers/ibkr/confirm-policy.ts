/**
 * Which IBKR order warnings ("reply messages") may be confirmed for the user: an explicit list, never
 * all. BROKER_IBKR_CONFIRM is a comma-separated list of message ids (`o163`, `o354`: IB's
 * `messageIds`) and `/regex/` patterns tested on the message text. A reply is confirmed only when every
 * message it carries is allowed; otherwise it is answered `{"confirmed":false}` and the order is
 * rejected with IB's message shown to the user. Empty (the default) confirms nothing.
 */
export interface IbkrReplyMessage {
  id: string;
  message?: string[] | string;
  messageIds?: string[];
  isSuppressed?: boolean;
  messageOptions?: unknown;
}

export class ConfirmPolicy {
  private readonly ids = new Set<string>();
  private readonly patterns: RegExp[] = [];

  constructor(spec: string | string[] = '') {
    const items = Array.isArray(spec) ? spec : splitSpec(spec);
    for (const raw of items) {
      const item = raw.trim();
      if (!item) continue;
      const m = /^\/(.+)\/([a-z]*)$/.exec(item);
      if (m) this.patterns.push(new RegExp(m[1], m[2].includes('i') ? 'i' : ''));
      else this.ids.add(item.toLowerCase());
    }
  }

  /** The messages of one reply that are NOT allowed (empty: confirm it). */
  disallowed(reply: IbkrReplyMessage): string[] {
    const texts = textsOf(reply);
    const ids = (reply.messageIds ?? []).map((x) => String(x).toLowerCase());
    if (ids.length > 0 && ids.every((id) => this.ids.has(id))) return [];
    // Without ids, or with any id not listed: every text must match a pattern.
    if (texts.length > 0 && this.patterns.length > 0 && texts.every((t) => this.patterns.some((p) => p.test(t)))) return [];
    return texts.length > 0 ? texts : ids.length > 0 ? ids : ['(a confirmation IB did not describe)'];
  }

  describe(): string {
    return [...this.ids, ...this.patterns.map(String)].join(',') || '(nothing)';
  }
}

/** The human text of a reply's messages (IB sends an array of strings, sometimes one string). */
export function textsOf(reply: IbkrReplyMessage): string[] {
  const m = reply.message;
  if (Array.isArray(m)) return m.map((x) => String(x).trim()).filter(Boolean);
  return typeof m === 'string' && m.trim() ? [m.trim()] : [];
}

/** Commas separate items, except inside an unfinished /pattern/. */
function splitSpec(spec: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of spec) {
    const t = cur.trim();
    const openPattern = t.startsWith('/') && !/^\/.+\/[a-z]*$/.test(t);
    if (ch === ',' && !openPattern) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}
