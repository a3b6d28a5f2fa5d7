// The layout checks of the screen as the window draws it now (tests/e2e/screens.rs runs this
// as a WebDriver script): what is wrong, each in words. Nothing scrolls sideways, no control is
// cut off or covers another, a label's words sit beside its control, colour is never the only
// signal of a verdict, and a long or right-to-left text is folded and set right to left.
const problems = [];
const view = document.documentElement.clientWidth;
const name = (el) => {
  const id = el.getAttribute("data-testid");
  const cls = typeof el.className === "string" && el.className.trim() ? `.${el.className.trim().split(/\s+/)[0]}` : "";
  const words = (el.getAttribute("aria-label") || el.textContent || el.value || el.placeholder || "")
    .trim()
    .replace(/\s+/g, " ")
    .slice(0, 40);
  return `<${el.tagName.toLowerCase()}${id ? `[${id}]` : cls}>${words ? ` "${words}"` : ""}`;
};
const shown = (el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
};
const px = (n) => Math.round(n);

// Nothing scrolls sideways: the page and every box in it (content wider than its box either
// scrolls or spills out). Form fields scroll their own text by design; only the innermost
// box is named.
const wide = [];
for (const el of [document.documentElement, ...document.body.querySelectorAll("*")]) {
  if (el.closest("svg") || el.matches("input, select, textarea, progress, img")) continue;
  const { display, clipPath } = getComputedStyle(el);
  // Words for screen readers only are clipped to nothing on purpose.
  if (display === "inline" || display === "contents" || display === "none" || clipPath !== "none") continue;
  if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) wide.push(el);
}
for (const el of wide) {
  if (el === document.documentElement || !wide.some((o) => o !== el && el.contains(o))) {
    problems.push(`scrolls sideways: ${name(el)} (${el.scrollWidth} px in ${el.clientWidth})`);
  }
}

// Every control wholly in the window and in any box that clips it, and none on another.
const controls = [
  ...document.querySelectorAll(
    "button, input:not([type=hidden]), select, textarea, a[href], [tabindex]:not([tabindex='-1'])",
  ),
].filter(shown);
for (const c of controls) {
  const r = c.getBoundingClientRect();
  if (r.left < -1 || r.right > view + 1) {
    problems.push(`cut off by the window: ${name(c)} (${px(r.left)}–${px(r.right)} px of ${view})`);
  }
  for (let a = c.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX === "visible") continue;
    const ar = a.getBoundingClientRect();
    if (r.left < ar.left - 1 || r.right > ar.right + 1) problems.push(`cut off by ${name(a)}: ${name(c)}`);
    break;
  }
}
for (let i = 0; i < controls.length; i++) {
  for (let j = i + 1; j < controls.length; j++) {
    const [a, b] = [controls[i], controls[j]];
    if (a.contains(b) || b.contains(a)) continue;
    const [p, q] = [a.getBoundingClientRect(), b.getBoundingClientRect()];
    const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
    const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
    if (w > 1 && h > 1) problems.push(`controls overlap: ${name(a)} and ${name(b)}`);
  }
}

// A label's words beside its control: a checkbox's or radio button's on its line, after it;
// a field's just before it on its line, or right above it.
for (const label of document.querySelectorAll("label")) {
  const c = label.control;
  if (!c || !shown(label) || !shown(c)) continue;
  const cr = c.getBoundingClientRect();
  const em = parseFloat(getComputedStyle(c).fontSize);
  const words = [];
  const walk = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walk.nextNode()) {
    const t = walk.currentNode;
    if (c.contains(t) || !t.textContent.trim()) continue;
    const before = !!(t.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING);
    range.selectNodeContents(t);
    for (const r of range.getClientRects()) if (r.width > 0) words.push({ r, before });
  }
  if (words.length === 0) continue;
  const sameLine = (r) => r.top < cr.bottom && r.bottom > cr.top;
  if (c.type === "checkbox" || c.type === "radio") {
    const first = words.find((w) => !w.before) ?? words[0];
    if (!sameLine(first.r)) problems.push(`label not beside its ${c.type}: ${name(label)}`);
    continue;
  }
  const before = words.filter((w) => w.before);
  if (before.length === 0) continue;
  const r = before[before.length - 1].r;
  const beside = sameLine(r) && r.right <= cr.left + 1 && cr.left - r.right < 3 * em;
  const above = r.bottom <= cr.top + 1 && cr.top - r.bottom < em && r.left < cr.right && r.right > cr.left;
  if (!beside && !above) problems.push(`label not beside its field: ${name(label)}`);
}

// Colour is never the only signal: a box coloured by a verdict says the verdict.
for (const el of document.querySelectorAll("[class*='verdict-']")) {
  const verdict = el.className.match(/verdict-(\w+)/)?.[1];
  if (verdict && !el.textContent.includes(verdict)) problems.push(`a ${verdict} verdict shown by colour only: ${name(el)}`);
}

// Long texts folded (a text longer than a screenful scrolls in its own box), and a text that
// starts right to left is set right to left.
const rtl = /^[^\p{L}]*[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}]/u;
for (const el of document.querySelectorAll("[dir='auto']")) {
  if (!shown(el)) continue;
  if (rtl.test(el.textContent) && getComputedStyle(el).direction !== "rtl") {
    problems.push(`a right-to-left text set left to right: ${name(el)}`);
  }
  if (el.textContent.length > 5000 && el.getBoundingClientRect().height > innerHeight) {
    problems.push(`a long text not folded: ${name(el)} (${px(el.getBoundingClientRect().height)} px high)`);
  }
}

return {
  problems,
  controls: controls.length,
  theme: document.documentElement.dataset.theme,
  background: getComputedStyle(document.body).backgroundColor,
};
