// Hover-decode maps of the Latent space page: the codes over a shaded background, the decoded grid cell under the
// pointer beside the map, and a click that pins a point and sends its z back to Python.
// Two kinds of data arrive: "map" (the heavy, never-changing atlas and points) and "marks" (pin, own code, ellipse).
// They come from two component instances, so a click or a drawing never re-sends the atlas.

const STORE = (window.__latentLabMaps = window.__latentLabMaps || { views: {}, marks: {}, shade: "density" });
const VIEWS = new WeakMap(); // parentElement -> view, so a rerun with the same data keeps the built map
const SIDE_PX = 108; // preview column
const MAX_PLOT_PX = 380;
const MIN_PLOT_PX = 220;
const MIN_SIGMA_PX = 12; // below this a 1σ ellipse is drawn enlarged, and labelled with the factor
const COARSE = window.matchMedia && window.matchMedia("(pointer: coarse)").matches; // a touch screen: no hover

function cssVar(element, name, fallback) {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value || fallback;
}

function formatNumber(value) {
  return (value < 0 ? "\u2212" : "") + Math.abs(value).toFixed(2);
}

function buildMap(parent, data) {
  const [x0, x1, y0, y1] = data.extent;
  const n = data.n;
  const [cellH, cellW] = data.cell;
  const side = x1 - x0;

  const root = document.createElement("div");
  root.className = "llm";
  root.innerHTML = `
    <div class="llm-head">
      <span class="llm-title"></span>
      <span class="llm-shade" role="group" aria-label="Background shading">
        <button type="button" data-shade="density" title="Shade where the training codes are dense">density</button>
        <button type="button" data-shade="classifier"
                title="Colour each spot by the digit a classifier reads in its decode; pale where it is unsure">classifier</button>
      </span>
    </div>
    <div class="llm-body">
      <div class="llm-plot" tabindex="0" role="img">
        <canvas class="llm-base"></canvas><canvas class="llm-over"></canvas>
        <span class="llm-axis llm-axis-x"></span><span class="llm-axis llm-axis-y"></span>
      </div>
      <div class="llm-side">
        <canvas class="llm-preview" width="${cellW}" height="${cellH}"></canvas>
        <div class="llm-readout" aria-live="polite"></div>
        <div class="llm-verdict"></div>
        <div class="llm-hint">${COARSE ? "Tap or drag sideways across the map; a tap pins." : "Point at the map; click to pin."}</div>
      </div>
    </div>
    <div class="llm-legend"></div>`;
  parent.appendChild(root);
  root.querySelector(".llm-title").textContent = data.title;
  const plot = root.querySelector(".llm-plot");
  plot.setAttribute("aria-label", `${data.title}: move the pointer or use the arrow keys; Enter pins a point`);
  const base = root.querySelector(".llm-base");
  const over = root.querySelector(".llm-over");
  const preview = root.querySelector(".llm-preview");
  const readout = root.querySelector(".llm-readout");
  const verdict = root.querySelector(".llm-verdict");
  root.querySelector(".llm-axis-x").textContent = `z1: ${formatNumber(x0)} \u2192 ${formatNumber(x1)}`;
  root.querySelector(".llm-axis-y").textContent = `z2: ${formatNumber(y0)} \u2192 ${formatNumber(y1)}`;
  root.querySelector(".llm-legend").innerHTML =
    data.classes.map((name, i) => `<span><i style="background:${data.colors[i % data.colors.length]}"></i>${name}</span>`)
      .join("") + `<span><b class="llm-key-own">\u25C6</b>your digit</span><span><b>\u25CE</b>pinned</span>`;

  const atlas = new Image();
  const shades = {};
  for (const [name, uri] of Object.entries(data.shades)) {
    shades[name] = new Image();
    shades[name].src = uri;
    shades[name].onload = () => view.drawBase();
  }
  const previewCtx = preview.getContext("2d");
  let size = MIN_PLOT_PX;
  let marks = null;
  let cursor = null; // [row, col] under the pointer or the keyboard
  let trigger = () => {};
  let hovered = false; // until the visitor points somewhere, the preview shows the pinned point or the centre

  const cellOf = (z) => [
    Math.min(n - 1, Math.max(0, Math.floor((y1 - z[1]) / side * n))),
    Math.min(n - 1, Math.max(0, Math.floor((z[0] - x0) / side * n))),
  ];
  const toPx = (z) => [(z[0] - x0) / side * size, (y1 - z[1]) / side * size];
  const toZ = (px, py) => [x0 + px / size * side, y1 - py / size * side];

  function show(z, label) {
    const [row, col] = cellOf(z);
    if (atlas.complete && atlas.naturalWidth) {
      previewCtx.drawImage(atlas, col * cellW, row * cellH, cellW, cellH, 0, 0, cellW, cellH);
    }
    const i = row * n + col;
    readout.textContent = `${label}z = (${formatNumber(z[0])}, ${formatNumber(z[1])})`;
    verdict.textContent = `reads as ${data.classes[data.predicted[i]]} (${data.confidence[i]}%)`;
    verdict.classList.toggle("llm-unsure", data.confidence[i] < 50);
    cursor = [row, col];
    drawOver(z);
  }

  function drawOver(z) {
    const ctx = over.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size, size);
    if (!z) return;
    const [px, py] = toPx(z);
    const cell = size / n;
    ctx.strokeStyle = cssVar(root, "--st-text-color", "#1f2933");
    ctx.lineWidth = 1;
    ctx.globalAlpha = 0.35;
    ctx.beginPath();
    ctx.moveTo(px, 0); ctx.lineTo(px, size); ctx.moveTo(0, py); ctx.lineTo(size, py);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.strokeRect(Math.floor(px / cell) * cell, Math.floor(py / cell) * cell, cell, cell);
  }

  function drawDiamond(ctx, x, y, r, fill) {
    ctx.beginPath();
    ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath();
    if (fill) ctx.fill();
    ctx.stroke();
  }

  function drawMarks(ctx) {
    if (!marks) return;
    const ink = "#111111";
    const text = cssVar(root, "--st-text-color", ink); // readable on the light and the dark theme's background
    if (marks.own && marks.sigma) {
      const [px, py] = toPx(marks.own);
      const rx = marks.sigma[0] / side * size;
      const ry = marks.sigma[1] / side * size;
      // A confident encoder's ellipse is a few pixels wide and would hide under the diamond: draw it enlarged by a
      // power of ten, and say so beside it, so the shape of the uncertainty can be seen at the map's scale.
      let scale = 1;
      while (Math.max(rx, ry) * scale < MIN_SIGMA_PX && scale < 1000) scale *= 10;
      ctx.save();
      ctx.setLineDash([5, 4]);
      ctx.strokeStyle = text;
      ctx.lineWidth = 1.5;
      for (const k of [1, 2]) { // one and two standard deviations of the VAE's posterior
        ctx.beginPath();
        ctx.ellipse(px, py, k * rx * scale, k * ry * scale, 0, 0, 2 * Math.PI);
        ctx.stroke();
      }
      if (scale > 1) {
        ctx.fillStyle = text;
        ctx.font = "600 11px sans-serif";
        ctx.fillText(`\u03C3 \u00D7${scale}`, px + 1.45 * rx * scale + 3, py - 1.45 * ry * scale - 3);
      }
      ctx.restore();
    }
    if (marks.sample) {
      const [px, py] = toPx(marks.sample);
      ctx.strokeStyle = ink; ctx.lineWidth = 2;
      drawDiamond(ctx, px, py, 6, false);
    }
    if (marks.own) {
      const [px, py] = toPx(marks.own);
      ctx.fillStyle = ink; ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 2;
      drawDiamond(ctx, px, py, 8, true);
    }
    if (marks.pin) {
      const [px, py] = toPx(marks.pin);
      ctx.lineWidth = 3; ctx.strokeStyle = "#ffffff";
      ctx.beginPath(); ctx.arc(px, py, 9, 0, 2 * Math.PI); ctx.stroke();
      ctx.lineWidth = 2; ctx.strokeStyle = ink;
      ctx.beginPath(); ctx.arc(px, py, 9, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillStyle = ink;
      ctx.beginPath(); ctx.arc(px, py, 2.5, 0, 2 * Math.PI); ctx.fill();
    }
  }

  const view = {
    id: data.id,
    root,
    setTrigger(fn) { trigger = fn; },
    setMarks(next) {
      marks = next || null;
      view.drawBase();
      if (!hovered) view.showResting();
    },
    showResting() {
      if (!atlas.complete || !atlas.naturalWidth) return;
      if (marks && marks.pin) show(marks.pin, "pinned: ");
      else show([(x0 + x1) / 2, (y0 + y1) / 2], "map centre: ");
      drawOver(null);
    },
    drawBase() {
      const ctx = base.getContext("2d");
      const ratio = window.devicePixelRatio || 1;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.fillStyle = cssVar(root, "--st-secondary-background-color", "#f3f5f8");
      ctx.fillRect(0, 0, size, size);
      const shade = shades[STORE.shade] || shades.density;
      if (shade && shade.complete && shade.naturalWidth) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(shade, 0, 0, size, size);
      }
      if (x0 < 0 && x1 > 0 && y0 < 0 && y1 > 0) { // the origin, where a VAE's prior is centred
        const [ox, oy] = toPx([0, 0]);
        ctx.strokeStyle = cssVar(root, "--st-text-color", "#1f2933");
        ctx.globalAlpha = 0.25; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(ox, 0); ctx.lineTo(ox, size); ctx.moveTo(0, oy); ctx.lineTo(size, oy); ctx.stroke();
        ctx.globalAlpha = 1;
      }
      const r = Math.max(1.6, size / 170);
      ctx.globalAlpha = 0.85;
      for (let i = 0; i < data.labels.length; i++) {
        const [px, py] = toPx([data.points[2 * i], data.points[2 * i + 1]]);
        if (px < -r || py < -r || px > size + r || py > size + r) continue;
        ctx.fillStyle = data.colors[data.labels[i] % data.colors.length];
        ctx.beginPath(); ctx.arc(px, py, r, 0, 2 * Math.PI); ctx.fill();
      }
      ctx.globalAlpha = 1;
      drawMarks(ctx);
      root.querySelectorAll("[data-shade]").forEach((b) => b.classList.toggle("llm-on", b.dataset.shade === STORE.shade));
    },
    resize() {
      const width = root.clientWidth;
      const beside = width - SIDE_PX - 12;
      size = Math.round(Math.max(Math.min(beside >= MIN_PLOT_PX ? beside : width, MAX_PLOT_PX), 120));
      const ratio = window.devicePixelRatio || 1;
      for (const canvas of [base, over]) {
        canvas.width = Math.round(size * ratio);
        canvas.height = Math.round(size * ratio);
        canvas.style.width = `${size}px`;
        canvas.style.height = `${size}px`;
      }
      plot.style.width = `${size}px`;
      plot.style.height = `${size}px`;
      view.drawBase();
    },
  };

  function pointerZ(event) {
    const box = over.getBoundingClientRect();
    const px = Math.min(Math.max(event.clientX - box.left, 0), size);
    const py = Math.min(Math.max(event.clientY - box.top, 0), size);
    return toZ(px, py);
  }

  function pin(z) {
    marks = { ...(marks || {}), pin: z };
    view.drawBase();
    trigger("pin", { z: [Number(z[0].toFixed(3)), Number(z[1].toFixed(3))] });
  }

  over.addEventListener("pointermove", (event) => {
    hovered = true;
    show(pointerZ(event), "");
  });
  // A finger has no hover: touching the map shows the decode under it at once (a sideways drag scrubs; an upward
  // or downward one scrolls the page, as .llm-plot's touch-action asks).
  over.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse") return;
    hovered = true;
    show(pointerZ(event), "");
  });
  over.addEventListener("pointerleave", () => drawOver(null)); // the last decode stays beside the map
  over.addEventListener("click", (event) => pin(pointerZ(event)));
  plot.addEventListener("keydown", (event) => {
    const steps = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const centre = cellOf([(x0 + x1) / 2, (y0 + y1) / 2]);
    const [row, col] = cursor || centre;
    const z = ([r, c]) => [x0 + (c + 0.5) / n * side, y1 - (r + 0.5) / n * side];
    if (steps[event.key]) {
      event.preventDefault();
      const [dr, dc] = steps[event.key];
      show(z([Math.min(n - 1, Math.max(0, row + dr)), Math.min(n - 1, Math.max(0, col + dc))]), "");
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pin(z([row, col]));
    }
  });
  root.querySelectorAll("[data-shade]").forEach((button) => button.addEventListener("click", () => {
    STORE.shade = button.dataset.shade;
    Object.values(STORE.views).forEach((v) => v.drawBase());
  }));

  atlas.onload = () => view.showResting();
  atlas.src = data.atlas;
  new ResizeObserver(() => view.resize()).observe(root);
  view.resize();
  return view;
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data) return;
  if (data.kind === "marks") {
    STORE.marks[data.map] = data;
    const view = STORE.views[data.map];
    if (view) view.setMarks(data);
    return;
  }
  let view = VIEWS.get(parentElement);
  if (!view || view.id !== data.id) {
    if (view) view.root.remove();
    view = buildMap(parentElement, data);
    VIEWS.set(parentElement, view);
  }
  view.setTrigger(setTriggerValue);
  STORE.views[data.map] = view;
  view.setMarks(STORE.marks[data.map]);
}
