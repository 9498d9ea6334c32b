// Small DOM helpers the worker and planner pages share: elements built from text (never from
// HTML, so names from data cannot run as markup) and translated strings with %(name)s slots.
(function () {
  "use strict";
  // The only kinds of address a link or image may point to: a javascript: (or any other)
  // address from data never becomes a live link.
  const SAFE_PROTOCOLS = ["http:", "https:", "tel:", "blob:"];
  const LINKING = ["href", "src", "action", "formaction"];

  /** An address if it is one of SAFE_PROTOCOLS (relative addresses are), else null. */
  function safeUrl(value) {
    try {
      const url = new URL(String(value), document.baseURI);
      return SAFE_PROTOCOLS.includes(url.protocol) ? String(value) : null;
    } catch (error) {
      return null;
    }
  }

  window.yizhanDom = {
    /** Fill the %(key)s slots of a translated string from an object of values. */
    fill: (text, values) =>
      text.replace(/%\((\w+)\)s/g, (whole, key) => (key in values ? String(values[key]) : whole)),
    /** An element with attributes and children; strings become text nodes. Event-handler
     * attributes are refused, and a link's address is kept only if it is safe. */
    el: (tag, attrs, ...children) => {
      const node = document.createElement(tag);
      Object.entries(attrs || {}).forEach(([k, v]) => {
        if (/^on/i.test(k) || k === "style") throw new Error(`el() sets no ${k} attribute`);
        if (k === "class") node.className = v;
        else if (LINKING.includes(k)) { const url = safeUrl(v); if (url !== null) node.setAttribute(k, url); }
        else node.setAttribute(k, v);
      });
      children.flat().forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
      return node;
    },
    /** Text as HTML that shows it literally, for the few Leaflet options that take HTML
     * (the attribution). */
    escape: (text) => {
      const node = document.createElement("span");
      node.textContent = String(text);
      return node.innerHTML;
    },
  };
})();
