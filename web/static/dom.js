// Small DOM helpers the worker and planner pages share: elements built from text (never from
// HTML, so names from data cannot run as markup) and translated strings with %(name)s slots.
window.yizhanDom = {
  /** Fill the %(key)s slots of a translated string from an object of values. */
  fill: (text, values) =>
    text.replace(/%\((\w+)\)s/g, (whole, key) => (key in values ? String(values[key]) : whole)),
  /** An element with attributes and children; strings become text nodes. */
  el: (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    });
    children.flat().forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  },
};
