// Shared helpers of the site's interactive figures (plain JavaScript and SVG, nothing
// loaded from the internet). docs/hooks/chapters.py turns a `<!-- widget: NAME -->` line
// in a chapter's prose into `<div class="lr-widget" data-widget="NAME">`; each widget
// script registers a builder under its NAME, and the builder fills the div. With
// JavaScript off the div stays empty and the chapter's static figure above it is what
// the reader sees.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const lr = (window.lrLessons = window.lrLessons || {});
  const builders = (lr.builders = lr.builders || {});

  /** An element with attributes and children (`svg: true` for the SVG namespace). */
  function el(tag, attrs, children, svg) {
    const node = svg ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }
  const s = (tag, attrs, children) => el(tag, attrs, children, true);

  /** Powers of ten in [lo, hi] (log10 values), thinned to at most `most` ticks. */
  function decadeTicks(lo, hi, most) {
    const first = Math.ceil(lo - 1e-9);
    const last = Math.floor(hi + 1e-9);
    const every = Math.max(1, Math.ceil((last - first + 1) / most));
    const ticks = [];
    for (let d = first; d <= last; d += 1) if ((d - first) % every === 0) ticks.push(d);
    return ticks;
  }

  /** "10⁻³" for -3. */
  function power(d) {
    const sup = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
    return "10" + String(d).split("").map((c) => sup[c]).join("");
  }

  /** A number with `digits` significant digits, without trailing zeros or exponent noise. */
  function fmt(x, digits) {
    if (!Number.isFinite(x)) return x > 0 ? "∞" : x < 0 ? "-∞" : "NaN";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(digits || 3)));
    const [m, e] = x.toExponential((digits || 3) - 1).split("e");
    return `${Number(m)}e${Number(e)}`;
  }

  /** A labelled range input with its live value: returns {row, input, output}. */
  function slider(id, label, opts) {
    const input = el("input", {
      type: "range",
      id,
      min: opts.min,
      max: opts.max,
      step: opts.step,
      value: opts.value,
      "aria-describedby": opts.describedBy,
    });
    const output = el("output", { for: id, id: `${id}-value`, "aria-hidden": "true" });
    const row = el("div", { class: "lr-control" }, [
      el("label", { for: id, text: label }),
      input,
      output,
    ]);
    return { row, input, output };
  }

  /** The pixel width available to a widget's plots. */
  function widthOf(node, fallback) {
    const w = node.getBoundingClientRect().width;
    return w > 50 ? Math.floor(w) : fallback;
  }

  /** Run `build(div)` for every `div.lr-widget[data-widget=name]` once, when the page is ready. */
  function start() {
    for (const div of document.querySelectorAll("div.lr-widget[data-widget]")) {
      const build = builders[div.dataset.widget];
      if (!build || div.dataset.built) continue;
      div.dataset.built = "true";
      build(div);
    }
  }

  lr.util = { el, s, decadeTicks, power, fmt, slider, widthOf };
  lr.register = function (name, build) {
    builders[name] = build;
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  };
})();
