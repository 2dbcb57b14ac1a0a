// The gradient-descent playground (chapter 0): a 2-D quadratic bowl
// f(w) = (w1^2 + a w2^2) / 2, a learning rate, a momentum, a start point the reader drags.
// The arithmetic is lr_lessons/lab/gradient_descent.py's, operation for operation
// (`descend`, `behaviour`); tests/test_site.py calls window.lrLessons.gd from Chromium
// and compares with Python's iterates.
(function () {
  "use strict";
  const lr = (window.lrLessons = window.lrLessons || {});

  /** Python's descend(Bowl(curvatures), w0, learningRate, steps, momentum): the points. */
  function descend(curvatures, w0, learningRate, steps, momentum) {
    const mu = momentum || 0;
    const dim = curvatures.length;
    let w = w0.slice();
    let v = new Array(dim).fill(0);
    const path = [w.slice()];
    for (let k = 0; k < steps; k += 1) {
      const next = new Array(dim);
      if (mu === 0) {
        for (let i = 0; i < dim; i += 1) next[i] = w[i] - learningRate * (curvatures[i] * w[i]);
      } else {
        const nv = new Array(dim);
        for (let i = 0; i < dim; i += 1) {
          nv[i] = mu * v[i] - learningRate * (curvatures[i] * w[i]);
          next[i] = w[i] + nv[i];
        }
        v = nv;
      }
      w = next;
      path.push(w.slice());
    }
    return path;
  }

  /** Python's 0.5 * sum(a * w**2) (numpy sums pairwise; for 2 terms that is left to right). */
  function loss(curvatures, w) {
    let total = 0;
    for (let i = 0; i < w.length; i += 1) total += curvatures[i] * w[i] ** 2;
    return 0.5 * total;
  }

  /** Python's behaviour(Bowl(curvatures), learningRate, momentum). */
  function behaviour(curvatures, learningRate, momentum) {
    const mu = momentum || 0;
    const factors = [];
    const crossing = [];
    for (const a of curvatures) {
      const t = 1.0 + mu - learningRate * a;
      const disc = t * t - 4.0 * mu;
      if (disc >= 0.0) {
        factors.push((Math.abs(t) + Math.sqrt(disc)) / 2.0);
        crossing.push(t < 0.0);
      } else {
        factors.push(Math.sqrt(mu));
        crossing.push(true);
      }
    }
    let axis = 0;
    for (let i = 1; i < factors.length; i += 1) if (factors[i] > factors[axis]) axis = i;
    const factor = factors[axis];
    let verdict = "converges";
    if (factor > 1.0) verdict = "diverges";
    else if (crossing.some(Boolean) || factor === 1.0) verdict = "oscillates";
    const threshold = (2.0 * (1.0 + mu)) / Math.max(...curvatures);
    return { verdict, factor, axis, threshold, crossing };
  }

  lr.gd = { descend, loss, behaviour };

  // -- the widget ---------------------------------------------------------------------------
  const FLAT = 1.0; // curvature of w1 (fixed); the slider sets a, the curvature of w2
  const VIEW = { x: 4.5, y: 2.5 }; // half-widths of the contour plot, as chapter 0's figure
  const LOG_LR = { min: -3, max: 1, step: 0.01 }; // the rate slider moves log10(lr)
  const LEVELS = [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 4, 8, 16, 32];

  function build(root) {
    const { el, s, decadeTicks, power, fmt, slider, widthOf } = lr.util;
    const id = (name) => `gd-${name}`;
    const state = { a: 8, logLr: -1, mu: 0, steps: 40, w0: [-4, 1.5] };

    const curv = slider(id("a"), "curvature a of the steep direction w₂", {
      min: 0.5, max: 8, step: 0.1, value: state.a,
    });
    const rate = slider(id("lr"), "learning rate η (log scale)", {
      min: LOG_LR.min, max: LOG_LR.max, step: LOG_LR.step, value: state.logLr,
      describedBy: id("marks"),
    });
    const mom = slider(id("mu"), "momentum μ", { min: 0, max: 0.99, step: 0.01, value: 0 });
    const steps = slider(id("steps"), "steps", { min: 5, max: 200, step: 1, value: state.steps });
    const marks = el("div", { class: "lr-marks", id: id("marks"), "aria-hidden": "true" });
    rate.row.appendChild(marks);
    const verdict = el("p", { class: "lr-verdict", id: id("verdict"), "aria-live": "polite" });
    const contours = s("svg", { class: "lr-plot lr-contours", role: "img" });
    const lossPlot = s("svg", { class: "lr-plot lr-loss", role: "img" });
    const help = el("p", {
      class: "lr-help",
      text:
        "Drag the start point (or focus it with Tab and move it with the arrow keys). " +
        "The marks under the rate slider are the thresholds 2/a and, with momentum, 2(1+μ)/a.",
    });
    root.append(
      el("p", { class: "lr-title", text: "Try it: gradient descent on f(w) = (w₁² + a·w₂²)/2" }),
      el("div", { class: "lr-controls" }, [curv.row, rate.row, mom.row, steps.row]),
      verdict,
      el("div", { class: "lr-panels" }, [
        el("div", { class: "lr-panel" }, [contours]),
        el("div", { class: "lr-panel" }, [lossPlot]),
      ]),
      help
    );

    function curvatures() {
      return [FLAT, state.a];
    }
    function learningRate() {
      return 10 ** state.logLr;
    }

    function compute() {
      const c = curvatures();
      const eta = learningRate();
      const path = descend(c, state.w0, eta, state.steps, state.mu);
      const losses = path.map((w) => loss(c, w));
      return { c, eta, path, losses, how: behaviour(c, eta, state.mu) };
    }

    function describe(r) {
      const limit = (state.mu > 0 ? "2(1+μ)/" : "2/") + (state.a >= FLAT ? "a" : "1");
      const thr = `${limit} = ${fmt(r.how.threshold, 3)}`;
      const axis = r.how.axis === 0 ? "w₁" : "w₂";
      const pct = fmt(r.how.factor, 3);
      if (r.how.verdict === "diverges")
        return `diverges: η = ${fmt(r.eta, 3)} is above ${thr}; the error grows ×${pct} per step along ${axis}.`;
      if (r.how.verdict === "oscillates") {
        const why = state.mu > 0 ? "momentum carries it past the minimum" : `η·a > 1 along ${r.how.crossing[1] ? "w₂" : "w₁"}: each step jumps across the minimum`;
        return `oscillates: ${why}; still below ${thr}, the error shrinks ×${pct} per step (slowest along ${axis}).`;
      }
      return `converges: the error shrinks ×${pct} per step without crossing the minimum (slowest along ${axis}); threshold ${thr}.`;
    }

    // -- drawing ----------------------------------------------------------------------------
    let geometry = null;

    function drawContours(r) {
      const width = Math.min(widthOf(contours.parentNode, 600), 720);
      const height = Math.round((width * VIEW.y) / VIEW.x);
      const pad = 4;
      const sx = (x) => pad + ((x + VIEW.x) / (2 * VIEW.x)) * (width - 2 * pad);
      const sy = (y) => pad + ((VIEW.y - y) / (2 * VIEW.y)) * (height - 2 * pad);
      geometry = { width, height, pad, sx, sy };
      contours.setAttribute("viewBox", `0 0 ${width} ${height}`);
      contours.setAttribute("width", width);
      contours.setAttribute("height", height);
      contours.replaceChildren();
      const clip = `${root.id || "gd"}-clip`;
      contours.append(
        s("defs", {}, [
          s("clipPath", { id: clip }, [
            s("rect", { x: pad, y: pad, width: width - 2 * pad, height: height - 2 * pad }),
          ]),
        ]),
        s("rect", { class: "lr-frame", x: pad, y: pad, width: width - 2 * pad, height: height - 2 * pad })
      );
      const body = s("g", { "clip-path": `url(#${clip})` });
      contours.append(body);
      const kx = (width - 2 * pad) / (2 * VIEW.x);
      const ky = (height - 2 * pad) / (2 * VIEW.y);
      for (const level of LEVELS) {
        body.append(
          s("ellipse", {
            class: "lr-contour",
            cx: sx(0), cy: sy(0),
            rx: Math.sqrt((2 * level) / r.c[0]) * kx,
            ry: Math.sqrt((2 * level) / r.c[1]) * ky,
          })
        );
      }
      body.append(s("circle", { class: "lr-minimum", cx: sx(0), cy: sy(0), r: 3 }));
      const clampPx = (v) => Math.max(-1e5, Math.min(1e5, v));
      const finite = r.path.filter((w) => w.every(Number.isFinite));
      const points = finite.map((w) => `${clampPx(sx(w[0])).toFixed(1)},${clampPx(sy(w[1])).toFixed(1)}`);
      body.append(s("polyline", { class: "lr-path", points: points.join(" ") }));
      for (const w of finite.slice(1)) {
        body.append(s("circle", { class: "lr-iterate", cx: clampPx(sx(w[0])), cy: clampPx(sy(w[1])), r: 2.2 }));
      }
      const handle = s("g", {
        class: "lr-start",
        tabindex: 0,
        role: "slider",
        "aria-label": "start point (arrow keys move it)",
        "aria-valuetext": `w₁ = ${fmt(state.w0[0], 3)}, w₂ = ${fmt(state.w0[1], 3)}`,
        transform: `translate(${sx(state.w0[0])},${sy(state.w0[1])})`,
      }, [s("circle", { class: "lr-start-hit", r: 16 }), s("circle", { class: "lr-start-dot", r: 6 })]);
      contours.append(handle);
      handle.addEventListener("pointerdown", startDrag);
      handle.addEventListener("keydown", nudge);
      contours.setAttribute(
        "aria-label",
        `Contours of f with a = ${fmt(state.a, 3)} and the path of ${state.steps} steps from (${fmt(state.w0[0], 3)}, ${fmt(state.w0[1], 3)})`
      );
    }

    function drawLoss(r) {
      const width = Math.min(widthOf(lossPlot.parentNode, 600), 720);
      const height = Math.max(160, Math.round(width * 0.5));
      const m = { l: 44, r: 10, t: 10, b: 30 };
      lossPlot.setAttribute("viewBox", `0 0 ${width} ${height}`);
      lossPlot.setAttribute("width", width);
      lossPlot.setAttribute("height", height);
      lossPlot.replaceChildren();
      const logs = r.losses.map((x) => (x > 0 && Number.isFinite(x) ? Math.log10(x) : x === 0 ? -Infinity : Infinity));
      const shown = logs.filter(Number.isFinite);
      let lo = Math.max(Math.min(...shown), -16);
      let hi = Math.min(Math.max(...shown), 16);
      if (!(hi > lo)) { lo -= 1; hi += 1; }
      lo = Math.floor(lo);
      hi = Math.ceil(hi);
      const n = r.losses.length - 1;
      const x = (k) => m.l + (k / n) * (width - m.l - m.r);
      const y = (v) => m.t + ((hi - Math.max(lo, Math.min(hi, v))) / (hi - lo)) * (height - m.t - m.b);
      const g = s("g");
      for (const d of decadeTicks(lo, hi, 6)) {
        g.append(
          s("line", { class: "lr-grid", x1: m.l, x2: width - m.r, y1: y(d), y2: y(d) }),
          s("text", { class: "lr-tick", x: m.l - 4, y: y(d) + 4, "text-anchor": "end", text: power(d) })
        );
      }
      const kstep = n <= 20 ? 5 : n <= 60 ? 10 : n <= 120 ? 20 : 50;
      for (let k = 0; k <= n; k += kstep) {
        g.append(s("text", { class: "lr-tick", x: x(k), y: height - m.b + 16, "text-anchor": "middle", text: k }));
      }
      g.append(
        s("rect", { class: "lr-frame", x: m.l, y: m.t, width: width - m.l - m.r, height: height - m.t - m.b }),
        s("text", { class: "lr-axis", x: (m.l + width - m.r) / 2, y: height - 2, "text-anchor": "middle", text: "step" }),
        s("text", { class: "lr-axis", x: 12, y: m.t + (height - m.t - m.b) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${m.t + (height - m.t - m.b) / 2})`, text: "loss f(w)" })
      );
      const pts = [];
      logs.forEach((v, k) => { if (!Number.isNaN(v)) pts.push(`${x(k).toFixed(1)},${y(v).toFixed(1)}`); });
      g.append(s("polyline", { class: "lr-path", points: pts.join(" ") }));
      lossPlot.append(g);
      const last = r.losses[r.losses.length - 1];
      lossPlot.setAttribute("aria-label", `Loss per step on a log axis: from ${fmt(r.losses[0], 3)} to ${fmt(last, 3)} after ${state.steps} steps`);
    }

    function drawMarks(r) {
      // a tick on the rate slider's track per threshold, and a legend line naming them
      marks.replaceChildren();
      const of = state.a >= FLAT ? "a" : "1";
      const items = [[2 / Math.max(...r.c), `2/${of}`, "lr-mark-plain"]];
      if (state.mu > 0) items.push([r.how.threshold, `2(1+μ)/${of}`, "lr-mark-momentum"]);
      const ticks = el("div", { class: "lr-ticks" });
      const legend = el("div", { class: "lr-marks-legend" });
      for (const [value, label, kind] of items) {
        const t = (Math.log10(value) - LOG_LR.min) / (LOG_LR.max - LOG_LR.min);
        const inside = t >= 0 && t <= 1;
        if (inside) {
          const tick = el("span", { class: `lr-tick-mark ${kind}` });
          // the thumb (16 px) travels over the track minus its own width
          tick.style.left = `calc(8px + ${t} * (100% - 16px))`;
          ticks.append(tick);
        }
        legend.append(el("span", { class: `lr-mark ${kind}`, text: `${label} = ${fmt(value, 3)}` }));
      }
      marks.append(ticks, legend);
    }

    let current = null;
    function update() {
      state.a = Number(curv.input.value);
      state.logLr = Number(rate.input.value);
      state.mu = Number(mom.input.value);
      state.steps = Number(steps.input.value);
      const r = compute();
      current = r;
      curv.output.textContent = fmt(state.a, 3);
      rate.output.textContent = fmt(r.eta, 3);
      rate.input.setAttribute("aria-valuetext", `η = ${fmt(r.eta, 3)}`);
      mom.output.textContent = state.mu.toFixed(2);
      steps.output.textContent = String(state.steps);
      verdict.textContent = describe(r);
      verdict.dataset.verdict = r.how.verdict;
      root.dataset.verdict = r.how.verdict;
      drawMarks(r);
      drawContours(r);
      drawLoss(r);
    }

    // -- the start point: pointer (mouse, pen, touch) and keyboard -----------------------------
    function moveTo(clientX, clientY) {
      const box = contours.getBoundingClientRect();
      const { width, height, pad } = geometry;
      const px = ((clientX - box.left) / box.width) * width;
      const py = ((clientY - box.top) / box.height) * height;
      const wx = ((px - pad) / (width - 2 * pad)) * 2 * VIEW.x - VIEW.x;
      const wy = VIEW.y - ((py - pad) / (height - 2 * pad)) * 2 * VIEW.y;
      state.w0 = [
        Math.round(Math.max(-VIEW.x, Math.min(VIEW.x, wx)) * 100) / 100,
        Math.round(Math.max(-VIEW.y, Math.min(VIEW.y, wy)) * 100) / 100,
      ];
      update();
    }
    let dragging = null;
    function startDrag(event) {
      event.preventDefault();
      dragging = event.pointerId;
      contours.setPointerCapture(event.pointerId);
      contours.classList.add("lr-dragging");
    }
    contours.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && !event.target.closest(".lr-start")) {
        moveTo(event.clientX, event.clientY); // a click on the plot moves the start there
        startDrag(event);
      }
    });
    contours.addEventListener("pointermove", (event) => {
      if (dragging === event.pointerId) moveTo(event.clientX, event.clientY);
    });
    const stop = (event) => {
      if (dragging !== event.pointerId) return;
      dragging = null;
      contours.classList.remove("lr-dragging");
      const handle = contours.querySelector(".lr-start");
      if (handle) handle.focus({ preventScroll: true });
    };
    contours.addEventListener("pointerup", stop);
    contours.addEventListener("pointercancel", stop);
    function nudge(event) {
      const delta = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[event.key];
      if (!delta) return;
      event.preventDefault();
      const by = event.shiftKey ? 0.5 : 0.1;
      state.w0 = [
        Math.round(Math.max(-VIEW.x, Math.min(VIEW.x, state.w0[0] + delta[0] * by)) * 100) / 100,
        Math.round(Math.max(-VIEW.y, Math.min(VIEW.y, state.w0[1] + delta[1] * by)) * 100) / 100,
      ];
      update();
      contours.querySelector(".lr-start").focus({ preventScroll: true });
    }

    for (const input of [curv.input, rate.input, mom.input, steps.input]) input.addEventListener("input", update);
    if (window.ResizeObserver) {
      let lastWidth = 0;
      new ResizeObserver(() => {
        const w = widthOf(root, 0);
        if (w !== lastWidth) { lastWidth = w; update(); }
      }).observe(root);
    }
    update();
    // what the browser test reads: the inputs and the path on screen
    root.lrState = () => ({
      curvatures: current.c, w0: state.w0.slice(), learningRate: current.eta, momentum: state.mu,
      steps: state.steps, path: current.path, losses: current.losses, verdict: current.how.verdict,
      text: verdict.textContent,
    });
  }

  if (lr.register) lr.register("gd-playground", build);
})();
