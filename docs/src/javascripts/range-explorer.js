// The range-test explorer (chapter 6): the chapter's committed range tests (every seed,
// SGD and Adam), re-smoothed and re-read as the reader moves the smoothing factor and
// the skip window. The rules are lr_lessons/tools/range_test/rules.py, ported operation for
// operation (np.gradient's formulas, Python's round-half-even, argmin's first index);
// tests/test_site.py compares them with Python on every curve of the data file.
(function () {
  "use strict";
  const lr = (window.lrLessons = window.lrLessons || {});

  const MIN_FALL = 0.1;
  const EDGE_POINTS = 2;
  const EDGE_FRACTION = 0.02;
  const CHANCE_ABOVE = 0.2;
  const CHANCE_NEAR = 0.05;
  const CHANCE_PLATEAU = 0.1;
  const FLAT = 0.05;
  const MIN_SPANS = 2;
  const SUGGESTIONS = ["steepest", "minimum", "valley", "slide"];

  /** rules.ema: the bias-corrected exponential moving average. */
  function ema(values, beta) {
    const out = new Array(values.length);
    let avg = 0.0;
    for (let i = 0; i < values.length; i += 1) {
      avg = beta * avg + (1.0 - beta) * values[i];
      out[i] = avg / (1.0 - beta ** (i + 1));
    }
    return out;
  }

  /** rules.span: [lo, hi) read by the rules. */
  function span(n, skipStart, skipEnd) {
    const lo = skipStart < 1 ? Math.trunc(skipStart * n) : Math.trunc(skipStart);
    const hi = n - Math.trunc(skipEnd);
    if (hi - lo < 3) return [0, n];
    return [lo, hi];
  }

  /** np.nanargmin: the first index of the smallest non-NaN value (-1 if all are NaN). */
  function nanargmin(values) {
    let best = -1;
    for (let i = 0; i < values.length; i += 1) {
      const v = values[i];
      if (Number.isNaN(v)) continue;
      if (best < 0 || v < values[best]) best = i;
    }
    return best;
  }

  /** np.gradient(f, x) for 1-D arrays (edge_order=1), with numpy's uniform-spacing branch. */
  function gradient(f, x) {
    const n = f.length;
    const dx = [];
    for (let i = 0; i < n - 1; i += 1) dx.push(x[i + 1] - x[i]);
    const uniform = dx.every((d) => d === dx[0]);
    const out = new Array(n);
    if (uniform) {
      const h = dx[0];
      for (let i = 1; i < n - 1; i += 1) out[i] = (f[i + 1] - f[i - 1]) / (2.0 * h);
      out[0] = (f[1] - f[0]) / h;
      out[n - 1] = (f[n - 1] - f[n - 2]) / h;
    } else {
      for (let i = 1; i < n - 1; i += 1) {
        const dx1 = dx[i - 1];
        const dx2 = dx[i];
        const a = -dx2 / (dx1 * (dx1 + dx2));
        const b = (dx2 - dx1) / (dx1 * dx2);
        const c = dx1 / (dx2 * (dx1 + dx2));
        out[i] = a * f[i - 1] + b * f[i] + c * f[i + 1];
      }
      out[0] = (f[1] - f[0]) / dx[0];
      out[n - 1] = (f[n - 1] - f[n - 2]) / dx[n - 2];
    }
    return out;
  }

  /** Python's round(): half to even. */
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  /** rules.minimum_index: m, the lowest finite loss in [lo, hi). */
  function minimumIndex(losses, lo, hi) {
    const part = losses.slice(lo, hi).map((v) => (Number.isFinite(v) ? v : NaN));
    return lo + nanargmin(part);
  }

  function steepest(lrs, losses, lo, hi) {
    const m = minimumIndex(losses, lo, hi);
    if (m - lo < 2) return m;
    const x = lrs.slice(lo, m + 1).map(Math.log10);
    return lo + nanargmin(gradient(losses.slice(lo, m + 1), x));
  }

  function minimum(lrs, losses, lo, hi) {
    return lrs[minimumIndex(losses, lo, hi)] / 10.0;
  }

  function valley(lrs, losses, lo, hi) {
    const m = minimumIndex(losses, lo, hi);
    const y = losses.slice(lo, m + 1);
    const run = new Array(y.length).fill(1);
    for (let i = 1; i < y.length; i += 1) {
      let best = 0;
      for (let j = 0; j < i; j += 1) if (y[j] > y[i] && run[j] > best) best = run[j];
      if (best > 0) run[i] = best + 1;
    }
    let end = 0;
    for (let i = 1; i < run.length; i += 1) if (run[i] > run[end]) end = i;
    const start = Math.max(end - run[end], 0);
    const third = (end - start) / 3;
    return lo + start + Math.trunc(third) + Math.trunc(third / 2);
  }

  function slide(lrs, losses, lo, hi, windowDecades, thresh) {
    const m = minimumIndex(losses, lo, hi);
    const x = lrs.slice(lo, hi).map(Math.log10);
    const perPoint = (x[x.length - 1] - x[0]) / Math.max(x.length - 1, 1);
    const w = perPoint > 0 ? Math.max(1, roundHalfEven(windowDecades / perPoint)) : 1;
    const slope = gradient(losses.slice(lo, hi), x);
    let r = x.length - 1;
    while (r - w >= 0) {
      const left = r - w;
      if (lo + left <= m && Math.abs(slope[r] - slope[left]) <= thresh) return lo + left;
      r -= 1;
    }
    return lo;
  }

  function lrIndex(lrs, rate) {
    const target = Math.log10(rate);
    return nanargmin(lrs.map((v) => Math.abs(Math.log10(v) - target)));
  }

  function pct(x) {
    return `${Math.round(x * 100)}%`;
  }

  /** Python's "{x:.<digits>g}" (finite x): the exponent form outside [1e-4, 10**digits). */
  function fmtG(x, digits) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const [mant, exp] = x.toExponential(digits - 1).split("e");
    const n = Number(exp);
    if (n < -4 || n >= digits) {
      const m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
      return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
    }
    const fixed = x.toFixed(Math.max(digits - 1 - n, 0));
    return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
  }

  /** Python's "{x:.3g}". */
  function g3(x) {
    return fmtG(x, 3);
  }

  /** rules.smoothing_span: the points the loss smoothing averages over, round(1 / (1 - beta)). */
  function smoothingSpan(beta) {
    return Math.max(1, roundHalfEven(1.0 / (1.0 - beta)));
  }

  /** rules.too_short: why a curve of n points smoothed with beta is too short ("" if not). */
  function tooShort(n, beta) {
    const span_ = smoothingSpan(beta);
    if (n >= MIN_SPANS * span_) return "";
    return (
      `too short: the curve has ${n} points, fewer than ${MIN_SPANS}x the loss ` +
      `smoothing's span of ${span_} points (beta=${fmtG(beta, 6)}); the smoothed loss lags by ` +
      "about a span, so run more steps (a few hundred) or lower beta"
    );
  }

  /** rules.assess: why the curve supports no suggestion ("" when it does). */
  function assess(lrs, losses, lo, hi, chance) {
    const m = minimumIndex(losses, lo, hi);
    const first = losses[lo];
    if (!Number.isFinite(first) || losses[m] > first - MIN_FALL * Math.abs(first)) {
      return (
        `no fall: the smoothed loss never falls ${pct(MIN_FALL)} below its value ` +
        `${g3(first)} at the start of the read span (lowest ${g3(losses[m])})`
      );
    }
    if (chance !== null && chance !== undefined && chance > 0 && first > (1 + CHANCE_ABOVE) * chance) {
      let near = 0;
      for (let i = lo; i <= m; i += 1) if (Math.abs(losses[i] - chance) <= CHANCE_NEAR * chance) near += 1;
      if (near >= CHANCE_PLATEAU * (hi - lo) && losses[m] < (1 - CHANCE_NEAR) * chance) {
        return (
          `fall after chance-level plateau: the loss starts at ${g3(first)}, flattens at chance ` +
          `level ${g3(chance)} for ${near} points, and only then falls: its ` +
          "first fall is the output reaching chance, not the rate's useful range"
        );
      }
    }
    return "";
  }

  /**
   * rules.suggest for every rule: {name: {lr, index, loss, reliable, reason}}.
   * opts: {skipStart, skipEnd, chance, windowDecades, thresh, beta}; beta (the smoothing
   * the losses went through) flags a curve too short to read, as rules.suggest(beta=...).
   */
  function suggest(lrs, losses, opts) {
    const [lo, hi] = span(lrs.length, opts.skipStart, opts.skipEnd);
    const short = opts.beta === null || opts.beta === undefined ? "" : tooShort(lrs.length, opts.beta);
    const curveReason = short || assess(lrs, losses, lo, hi, opts.chance);
    const edge = Math.max(EDGE_POINTS, Math.ceil(EDGE_FRACTION * lrs.length));
    const first = losses[lo];
    const lowest = losses[minimumIndex(losses, lo, hi)];
    const out = {};
    for (const name of SUGGESTIONS) {
      let i;
      let rate;
      if (name === "minimum") {
        rate = minimum(lrs, losses, lo, hi);
        i = lrIndex(lrs, rate);
      } else {
        if (name === "steepest") i = steepest(lrs, losses, lo, hi);
        else if (name === "valley") i = valley(lrs, losses, lo, hi);
        else i = slide(lrs, losses, lo, hi, opts.windowDecades, opts.thresh);
        rate = lrs[i];
      }
      let reason = curveReason;
      if (!reason && name !== "minimum") {
        if (i < lo + edge) {
          reason =
            `at window edge: unreliable; the point is within ${edge} points of where reading ` +
            "starts (skip_start), so the loss was already falling there: start the ramp lower";
        } else if (!(first - losses[i] >= FLAT * (first - lowest))) {
          reason =
            `before the fall: the smoothed loss there (${fmtG(losses[i], 4)}) has not yet fallen ` +
            `${pct(FLAT)} of the way from ${fmtG(first, 4)} to its lowest ${fmtG(lowest, 4)}: the rate ` +
            "is read off the flat start, before the loss falls";
        }
      }
      out[name] = { lr: rate, index: i, loss: losses[i], reliable: !reason, reason };
    }
    return { span: [lo, hi], suggestions: out };
  }

  lr.rangeTest = { ema, span, gradient, suggest, SUGGESTIONS };

  // -- the widget ---------------------------------------------------------------------------
  const RULE_STYLE = {
    steepest: { color: "#3d8bd9", shape: "triangle", label: "steepest" },
    minimum: { color: "#2ca02c", shape: "diamond", label: "minimum/10" },
    valley: { color: "#ef6c00", shape: "circle", label: "valley" },
    slide: { color: "#a05bc4", shape: "square", label: "slide" },
  };
  const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

  function marker(s, shape, x, y, size, attrs) {
    const r = size;
    if (shape === "circle") return s("circle", { cx: x, cy: y, r, ...attrs });
    if (shape === "square") return s("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, ...attrs });
    if (shape === "diamond") return s("path", { d: `M${x},${y - r * 1.3}L${x + r * 1.3},${y}L${x},${y + r * 1.3}L${x - r * 1.3},${y}Z`, ...attrs });
    return s("path", { d: `M${x - r * 1.2},${y - r}L${x + r * 1.2},${y - r}L${x},${y + r * 1.1}Z`, ...attrs });
  }

  function build(root) {
    const { el, s, decadeTicks, power, fmt, slider, widthOf } = lr.util;
    const url = root.dataset.src || "../../figures/06_range_test/range_test_explorer.json";
    root.append(el("p", { class: "lr-help", text: "Loading the chapter's range tests…" }));
    fetch(url)
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
        return response.json();
      })
      .then((data) => show(data))
      .catch((error) => {
        root.replaceChildren(el("p", { class: "lr-help", text: `The explorer's data did not load (${error.message}); the figures above show the same curves.` }));
      });

    function show(data) {
      const curves = data.curves.map((c) => ({
        ...c,
        lr: c.lr.map((v) => (v === null ? NaN : v)),
        loss: c.loss.map((v) => (v === null ? NaN : v)),
      }));
      const optimizers = [...new Set(curves.map((c) => c.optimizer))];
      const seeds = [...new Set(curves.map((c) => c.seed))];
      const base = curves[0];
      const state = {
        beta: base.beta,
        skipStart: base.skip_start,
        skipEnd: base.skip_end,
        seeds: new Set(seeds),
        raw: true,
      };

      const beta = slider("rt-beta", "smoothing factor β", { min: 0, max: 0.995, step: 0.005, value: state.beta });
      const skipStart = slider("rt-skip-start", "skip at the start (share of points)", { min: 0, max: 0.5, step: 0.01, value: state.skipStart });
      const skipEnd = slider("rt-skip-end", "skip at the end (points)", { min: 0, max: 100, step: 1, value: state.skipEnd });
      const toggles = el("fieldset", { class: "lr-toggles" }, [el("legend", { text: "seeds" })]);
      for (const seed of seeds) {
        const box = el("input", { type: "checkbox", id: `rt-seed-${seed}`, checked: true, "data-seed": seed });
        box.addEventListener("change", () => {
          if (box.checked) state.seeds.add(seed);
          else state.seeds.delete(seed);
          update();
        });
        toggles.append(el("label", { for: `rt-seed-${seed}` }, [box, document.createTextNode(` seed ${seed}`)]));
      }
      const rawBox = el("input", { type: "checkbox", id: "rt-raw", checked: true });
      rawBox.addEventListener("change", () => { state.raw = rawBox.checked; update(); });
      toggles.append(el("label", { for: "rt-raw" }, [rawBox, document.createTextNode(" raw losses")]));
      const reset = el("button", { type: "button", class: "md-button lr-reset", text: "chapter's settings" });
      reset.addEventListener("click", () => {
        beta.input.value = base.beta;
        skipStart.input.value = base.skip_start;
        skipEnd.input.value = base.skip_end;
        update();
      });

      const panels = el("div", { class: "lr-panels lr-panels-wide" });
      const legend = el("ul", { class: "lr-legend" });
      for (const name of SUGGESTIONS) {
        const st = RULE_STYLE[name];
        const icon = s("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" }, [
          marker(s, st.shape, 7, 7, 4.5, { fill: st.color }),
        ]);
        legend.append(
          el("li", {}, [icon, el("strong", { text: ` ${st.label}: ` }), document.createTextNode(data.rules[name].definition)])
        );
      }
      const table = el("div", { class: "lr-table", "aria-live": "polite" });
      root.replaceChildren(
        el("p", { class: "lr-title", text: "Try it: read the chapter's range tests yourself" }),
        el("div", { class: "lr-controls" }, [beta.row, skipStart.row, skipEnd.row, el("div", { class: "lr-control lr-control-toggles" }, [toggles, reset])]),
        panels,
        legend,
        table,
        el("p", {
          class: "lr-help",
          text:
            `Data: ${data.data_source}; ${seeds.length} seeds per optimizer. Faint: each batch's own loss; ` +
            "lines: the smoothed loss (one dash style per seed); shaded: the skipped ends. " +
            "Hollow markers are suggestions the rules mark unreliable. Lower strip: validation accuracy " +
            "after 2 epochs at the rates chapter 6 checked (dots: seeds, bar: mean).",
        })
      );

      let current = null;
      function compute() {
        const out = [];
        for (const c of curves) {
          const smoothed = ema(c.loss, state.beta);
          const read = suggest(c.lr, smoothed, {
            skipStart: state.skipStart,
            skipEnd: state.skipEnd,
            chance: c.chance_loss,
            windowDecades: data.slide.window_decades,
            thresh: data.slide.thresh,
            beta: state.beta,
          });
          out.push({ curve: c, smoothed, ...read });
        }
        return out;
      }

      function drawPanel(optimizer, results) {
        const shown = results.filter((r) => r.curve.optimizer === optimizer && state.seeds.has(r.curve.seed));
        const all = results.filter((r) => r.curve.optimizer === optimizer);
        const width = Math.min(widthOf(panels, 640), 900);
        const pw = width;
        const m = { l: 46, r: 10, t: 22, b: 34 };
        const hLoss = Math.max(190, Math.round(pw * 0.42));
        const hCheck = 84;
        const height = hLoss + hCheck + 8;
        const svg = s("svg", { class: "lr-plot lr-rt", role: "img", width: pw, height, viewBox: `0 0 ${pw} ${height}`, "data-optimizer": optimizer });
        // the ramp's rates, widened to every rate chapter 6 checked for this optimizer
        const checkedRates = data.checks.filter((c) => c.optimizer === optimizer).map((c) => c.lr);
        const lrMin = Math.min(...all.map((r) => r.curve.lr[0]), ...checkedRates) / 1.15;
        const lrMax = Math.max(...all.map((r) => r.curve.lr[r.curve.lr.length - 1]), ...checkedRates) * 1.15;
        const x0 = Math.log10(lrMin);
        const x1 = Math.log10(lrMax);
        const X = (v) => m.l + ((Math.log10(v) - x0) / (x1 - x0)) * (pw - m.l - m.r);
        // y range: the smoothed curves of every seed, up to 1.5x their start
        let lo = Infinity;
        let hi = -Infinity;
        for (const r of all) {
          for (const v of r.smoothed) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        }
        const start = Math.max(...all.map((r) => r.smoothed[0]));
        hi = Math.min(hi, start * 1.35);
        lo = Math.max(0, lo - 0.05 * (hi - lo));
        const Y = (v) => m.t + ((hi - Math.max(lo, Math.min(hi, v))) / (hi - lo)) * (hLoss - m.t - m.b);
        const g = s("g");
        svg.append(g);
        g.append(s("text", { class: "lr-axis lr-panel-title", x: m.l, y: 14, text: `${optimizer}: loss during the ramp` }));
        for (const d of decadeTicks(x0, x1, 6)) {
          g.append(
            s("line", { class: "lr-grid", x1: X(10 ** d), x2: X(10 ** d), y1: m.t, y2: hLoss - m.b }),
            s("text", { class: "lr-tick", x: X(10 ** d), y: hLoss - m.b + 14, "text-anchor": "middle", text: power(d) })
          );
        }
        const yticks = 4;
        for (let k = 0; k <= yticks; k += 1) {
          const v = lo + ((hi - lo) * k) / yticks;
          g.append(s("text", { class: "lr-tick", x: m.l - 4, y: Y(v) + 4, "text-anchor": "end", text: fmt(v, 2) }));
        }
        g.append(
          s("text", { class: "lr-axis", x: (m.l + pw - m.r) / 2, y: hLoss - m.b + 28, "text-anchor": "middle", text: "learning rate (log scale)" }),
          s("rect", { class: "lr-frame", x: m.l, y: m.t, width: pw - m.l - m.r, height: hLoss - m.t - m.b })
        );
        const clipId = `rt-clip-${optimizer}`;
        svg.append(s("defs", {}, [s("clipPath", { id: clipId }, [s("rect", { x: m.l, y: m.t, width: pw - m.l - m.r, height: hLoss - m.t - m.b })])]));
        const body = s("g", { "clip-path": `url(#${clipId})` });
        svg.append(body);
        // the skipped ends of the first shown curve (every seed has the same ramp)
        if (shown.length) {
          const r = shown[0];
          const [a, b] = r.span;
          const lrs = r.curve.lr;
          if (a > 0) body.append(s("rect", { class: "lr-skip", x: m.l, y: m.t, width: X(lrs[a]) - m.l, height: hLoss - m.t - m.b }));
          if (b < lrs.length) body.append(s("rect", { class: "lr-skip", x: X(lrs[b - 1]), y: m.t, width: pw - m.r - X(lrs[b - 1]), height: hLoss - m.t - m.b }));
        }
        const line = (lrs, ys) => {
          const pts = [];
          for (let i = 0; i < lrs.length; i += 1) if (Number.isFinite(ys[i])) pts.push(`${X(lrs[i]).toFixed(1)},${Y(ys[i]).toFixed(1)}`);
          return pts.join(" ");
        };
        for (const r of shown) {
          const dash = DASHES[seeds.indexOf(r.curve.seed) % DASHES.length];
          if (state.raw) body.append(s("polyline", { class: "lr-raw", points: line(r.curve.lr, r.curve.loss) }));
          body.append(s("polyline", { class: "lr-smooth", points: line(r.curve.lr, r.smoothed), "stroke-dasharray": dash || null }));
        }
        for (const r of shown) {
          for (const name of SUGGESTIONS) {
            const sug = r.suggestions[name];
            const st = RULE_STYLE[name];
            const y = Y(r.smoothed[sug.index]);
            const node = marker(s, st.shape, X(sug.lr), y, 5, {
              class: sug.reliable ? "lr-rule" : "lr-rule lr-unreliable",
              fill: sug.reliable ? st.color : "none",
              stroke: st.color,
              "data-rule": name,
              "data-seed": r.curve.seed,
            });
            node.append(s("title", { text: `${st.label}, seed ${r.curve.seed}: ${fmt(sug.lr, 3)}${sug.reliable ? "" : ` (unreliable: ${sug.reason})`}` }));
            body.append(node);
          }
        }
        // the 2-epoch check strip
        const top = hLoss + 8;
        const rows = data.checks.filter((c) => c.optimizer === optimizer);
        const C = (v) => top + 8 + (1 - v) * (hCheck - 26);
        const strip = s("g", { class: "lr-check" });
        strip.append(
          s("rect", { class: "lr-frame", x: m.l, y: top, width: pw - m.l - m.r, height: hCheck - 10 }),
          s("text", { class: "lr-tick", x: m.l - 4, y: C(1) + 4, "text-anchor": "end", text: "1" }),
          s("text", { class: "lr-tick", x: m.l - 4, y: C(0) + 4, "text-anchor": "end", text: "0" }),
          s("text", { class: "lr-axis", x: 10, y: top + (hCheck - 10) / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${top + (hCheck - 10) / 2})`, text: "val. acc." })
        );
        for (const row of rows) {
          const x = X(row.lr);
          const st = RULE_STYLE[row.rule] || RULE_STYLE.valley;
          const group = s("g", { class: "lr-check-rate", "data-rule": row.rule }, [
            s("title", { text: `${st.label} check: rate ${fmt(row.lr, 2)}, ${row.epochs} epochs, validation accuracy ${row.val_accuracy.map((v) => fmt(v, 3)).join(", ")} (mean ${fmt(row.mean, 3)})` }),
            s("line", { class: "lr-check-bar", x1: x - 7, x2: x + 7, y1: C(row.mean), y2: C(row.mean), stroke: st.color }),
          ]);
          for (const acc of row.val_accuracy) if (acc !== null) group.append(s("circle", { class: "lr-check-dot", cx: x, cy: C(acc), r: 2.2, fill: st.color }));
          strip.append(group);
        }
        svg.append(strip);
        svg.setAttribute("aria-label", `${optimizer}: smoothed range-test loss of seeds ${[...state.seeds].join(", ")} against the learning rate, with each rule's suggestion`);
        return svg;
      }

      function drawTable(results) {
        const head = el("tr", {}, [el("th", { text: "rule" }), ...optimizers.map((o) => el("th", { text: o }))]);
        const body = [];
        const reasons = new Set();
        for (const name of SUGGESTIONS) {
          const cells = [el("th", { scope: "row", text: RULE_STYLE[name].label })];
          for (const o of optimizers) {
            const rs = results.filter((r) => r.curve.optimizer === o && state.seeds.has(r.curve.seed));
            const parts = rs.map((r) => {
              const sug = r.suggestions[name];
              if (!sug.reliable) reasons.add(sug.reason);
              return `${fmt(sug.lr, 2)}${sug.reliable ? "" : "*"}`;
            });
            cells.push(el("td", { text: parts.length ? parts.join(", ") : "no seed selected", "data-rule": name, "data-optimizer": o }));
          }
          body.push(el("tr", {}, cells));
        }
        const notes = [...reasons].map((r) => el("p", { class: "lr-note", text: `* unreliable: ${r}` }));
        const checks = el("ul", { class: "lr-checks" });
        for (const o of optimizers) {
          for (const name of SUGGESTIONS) {
            const rows = data.checks.filter((c) => c.optimizer === o && c.rule === name);
            if (!rows.length) continue;
            const best = rows.reduce((a, b) => (b.mean > a.mean ? b : a));
            checks.append(
              el("li", {}, [
                el("strong", { text: `${o}, ${RULE_STYLE[name].label}: ` }),
                document.createTextNode(
                  `${rows.map((c) => `${fmt(c.lr, 2)} → ${fmt(c.mean, 3)}`).join(", ")} (best: ${fmt(best.lr, 2)})`
                ),
              ])
            );
          }
        }
        table.replaceChildren(
          el("table", { class: "lr-rates" }, [
            el("caption", { text: "Each rule's rate, one per selected seed (* unreliable)" }),
            el("thead", {}, [head]),
            el("tbody", {}, body),
          ]),
          ...notes,
          el("p", { class: "lr-note", text: `Chapter 6's check: validation accuracy after ${data.checks.length ? data.checks[0].epochs : 2} epochs at each rate it trained (mean over seeds):` }),
          checks
        );
      }

      function update() {
        state.beta = Number(beta.input.value);
        state.skipStart = Number(skipStart.input.value);
        state.skipEnd = Number(skipEnd.input.value);
        beta.output.textContent = state.beta.toFixed(3);
        skipStart.output.textContent = `${Math.round(state.skipStart * 100)}%`;
        skipEnd.output.textContent = String(state.skipEnd);
        current = compute();
        panels.replaceChildren(...optimizers.map((o) => el("div", { class: "lr-panel" }, [drawPanel(o, current)])));
        drawTable(current);
      }
      for (const input of [beta.input, skipStart.input, skipEnd.input]) input.addEventListener("input", update);
      if (window.ResizeObserver) {
        let lastWidth = 0;
        new ResizeObserver(() => {
          const w = widthOf(root, 0);
          if (w !== lastWidth) { lastWidth = w; update(); }
        }).observe(root);
      }
      update();
      root.lrState = () => ({
        beta: state.beta,
        skipStart: state.skipStart,
        skipEnd: state.skipEnd,
        seeds: [...state.seeds],
        curves: current.map((r) => ({ optimizer: r.curve.optimizer, seed: r.curve.seed, span: r.span, suggestions: r.suggestions })),
      });
    }
  }

  if (lr.register) lr.register("range-explorer", build);
})();
