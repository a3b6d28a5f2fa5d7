// "Show invisibles": the characters a jailbreak hides in (bidi controls, zero-width characters,
// Unicode tag characters) and text that looks like a model's special tokens, cut out of a
// sample's text as marked pieces. The screen renders every piece as text; a marked piece shows
// a visible label in place of the character, so a bidi control no longer reorders what follows.

export interface Piece {
  text: string;
  /** Set for a marked piece: what it is, in words (the tooltip). */
  what?: string;
}

const NAMED: Record<string, [string, string]> = {
  "\u202a": ["LRE", "left-to-right embedding"],
  "\u202b": ["RLE", "right-to-left embedding"],
  "\u202c": ["PDF", "pop directional formatting"],
  "\u202d": ["LRO", "left-to-right override"],
  "\u202e": ["RLO", "right-to-left override"],
  "\u2066": ["LRI", "left-to-right isolate"],
  "\u2067": ["RLI", "right-to-left isolate"],
  "\u2068": ["FSI", "first strong isolate"],
  "\u2069": ["PDI", "pop directional isolate"],
  "\u200e": ["LRM", "left-to-right mark"],
  "\u200f": ["RLM", "right-to-left mark"],
  "\u061c": ["ALM", "Arabic letter mark"],
  "\u200b": ["ZWSP", "zero-width space"],
  "\u200c": ["ZWNJ", "zero-width non-joiner"],
  "\u200d": ["ZWJ", "zero-width joiner"],
  "\u2060": ["WJ", "word joiner"],
  "\u2061": ["FA", "invisible function application"],
  "\u2062": ["IT", "invisible times"],
  "\u2063": ["IS", "invisible separator"],
  "\u2064": ["IP", "invisible plus"],
  "\ufeff": ["BOM", "zero-width no-break space"],
  "\u00ad": ["SHY", "soft hyphen"],
  "\u180e": ["MVS", "Mongolian vowel separator"],
};

/** Text shaped like a chat template's control tokens: `<|im_start|>`, `[INST]`, `<s>`, … */
const SPECIAL_TOKEN = /<\|[^|<>\s]{1,40}\|>|\[\/?INST\]|<<\/?SYS>>|<\/?s>|<(?:start|end)_of_turn>|<\/?(?:think|tool_call)>/;

const TAG_FIRST = 0xe0000;
const TAG_LAST = 0xe007f;

/** A Unicode tag character (U+E0000–U+E007F). */
function isTag(cp: number): boolean {
  return cp >= TAG_FIRST && cp <= TAG_LAST;
}

/** Cuts `text` into plain and marked pieces (plain pieces joined, so the result is short). */
export function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push({ text: plain });
    plain = "";
  };
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const named = NAMED[c];
    if (named) {
      flush();
      out.push({ text: `⟨${named[0]}⟩`, what: named[1] });
      continue;
    }
    const cp = c.codePointAt(0)!;
    if (isTag(cp)) {
      // A run of tag characters spells ASCII text invisibly; show what it spells.
      let spelled = "";
      while (i < chars.length && isTag(chars[i].codePointAt(0)!)) {
        const t = chars[i].codePointAt(0)! - TAG_FIRST;
        spelled += t >= 0x20 && t < 0x7f ? String.fromCharCode(t) : "·";
        i++;
      }
      i--;
      flush();
      out.push({ text: `⟨tags: ${spelled}⟩`, what: "Unicode tag characters (invisible text)" });
      continue;
    }
    plain += c;
  }
  flush();
  return out.flatMap(splitSpecialTokens);
}

function splitSpecialTokens(p: Piece): Piece[] {
  if (p.what) return [p];
  const out: Piece[] = [];
  let rest = p.text;
  for (;;) {
    const m = SPECIAL_TOKEN.exec(rest);
    if (!m) break;
    if (m.index > 0) out.push({ text: rest.slice(0, m.index) });
    out.push({ text: `⟦${m[0]}⟧`, what: "looks like a model's special token (read as plain text by the guards)" });
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) out.push({ text: rest });
  return out;
}

/** How many hidden characters and token-like pieces `text` holds (shown even when off). */
export function hiddenCount(text: string): number {
  return pieces(text).filter((p) => p.what).length;
}
