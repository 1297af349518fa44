// The two DOM helpers every module uses: `$` finds an element, `h` builds one from a
// tag, attributes (`on…` become listeners, `text` the text) and children. The UI builds
// its DOM from nodes, never from HTML text, because zone and venue names come from outside
// data; `h` keeps that as short as markup would be.
export const $ = (sel, root = document) => root.querySelector(sel);
export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
};
