// Draw a digit (demo.qmd): the course's own models, lesson 1's MLP and lesson 4's CNN, run in the browser
// by ONNX Runtime Web (copied into the site by `make site`, never loaded from a CDN).
//
// The path of a drawing: canvas strokes (ink bright on dark) -> MNIST's preprocessing (bounding box
// scaled to fit 20x20 keeping the aspect ratio, then centred by its centre of mass in 28x28) -> pixels in
// [0, 1] -> each model (its first layer is mc.Normalize, so normalization lives in the exported file)
// -> softmax of the logits -> bars.
//
// Test hook: window.mnistDemo.predict(pixels), pixels a Float32Array of 784 values in [0, 1] (row-major
// 28x28, ink = 1), resolves to {cnn: number[10], mlp: number[10]} of probabilities; no preprocessing.
(() => {
  "use strict";

  const SIZE = 28;          // the models' input: 28 x 28 pixels
  const BOX = 20;           // MNIST: the digit's bounding box is scaled to fit 20 x 20 ...
  const CENTRE = 14;        // ... and its centre of mass moved here (row and column index; measured on MNIST)
  const MODELS = {          // served by the site from notebooks/models/, written there by lessons 1 and 4
    cnn: { url: "notebooks/models/lesson4_cnn.onnx", label: "Lesson 4 CNN" },
    mlp: { url: "notebooks/models/lesson1_mlp.onnx", label: "Lesson 1 MLP" },
  };
  const RUNTIME = "demo/ort/";  // ort-wasm-simd-threaded.{mjs,wasm}, copied from node_modules by make site

  const $ = (id) => document.getElementById(id);
  const canvas = $("demo-canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const inputView = $("demo-input");
  const inputCtx = inputView.getContext("2d");
  const status = $("demo-status");
  const centreSwitch = $("demo-centre");

  // ---- drawing ------------------------------------------------------------------------------------
  const lineWidth = () => canvas.width / 14;  // ~2 px of 28 once a full-height digit is scaled to 20 px

  function clearCanvas() {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }

  function canvasPoint(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * canvas.width / rect.width,
            (event.clientY - rect.top) * canvas.height / rect.height];
  }

  // One stroke at a time, drawn by one pointer: a second finger or a resting palm on a touch screen is
  // another pointer (its own pointerId, isPrimary false) and is ignored, so it cannot pull the stroke.
  let last = null;      // the previous point of the stroke being drawn, or null
  let strokeId = null;  // the pointerId drawing that stroke
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !event.isPrimary || strokeId !== null) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    strokeId = event.pointerId;
    last = canvasPoint(event);
    drawSegment(last, last);
    schedule(event.timeStamp, false);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (last === null || event.pointerId !== strokeId) return;
    event.preventDefault();
    const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of points.length ? points : [event]) {
      const p = canvasPoint(e);
      drawSegment(last, p);
      last = p;
    }
    schedule(event.timeStamp, false);
  });
  const endStroke = (event) => {
    if (last === null || event.pointerId !== strokeId) return;
    last = null;
    strokeId = null;
    schedule(event.timeStamp, true);
  };
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("lostpointercapture", endStroke);  // so a lost pointerup cannot block the next stroke

  function drawSegment([x0, y0], [x1, y1]) {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = lineWidth();
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  // ---- MNIST's preprocessing --------------------------------------------------------------------------
  // Resample `src` (w x h values) to `tw` x `th` by area averaging: each target pixel is the mean of the
  // source area it covers (fractional overlaps weighted), the anti-aliasing a scanner and MNIST's
  // resizing give. Done separably: rows, then columns.
  function areaWeights(n, tn) {
    const scale = n / tn, weights = [];
    for (let t = 0; t < tn; t++) {
      const a = t * scale, b = (t + 1) * scale, w = [];
      for (let s = Math.floor(a); s < Math.min(n, Math.ceil(b)); s++) {
        w.push([s, (Math.min(b, s + 1) - Math.max(a, s)) / scale]);
      }
      weights.push(w);
    }
    return weights;
  }

  function resample(src, w, h, tw, th) {
    const wx = areaWeights(w, tw), wy = areaWeights(h, th);
    const rows = new Float32Array(tw * h);
    for (let y = 0; y < h; y++) {
      for (let t = 0; t < tw; t++) {
        let v = 0;
        for (const [s, k] of wx[t]) v += k * src[y * w + s];
        rows[y * tw + t] = v;
      }
    }
    const out = new Float32Array(tw * th);
    for (let t = 0; t < th; t++) {
      for (let x = 0; x < tw; x++) {
        let v = 0;
        for (const [s, k] of wy[t]) v += k * rows[s * tw + x];
        out[t * tw + x] = v;
      }
    }
    return out;
  }

  // The drawing as the models receive it: a Float32Array(784) in [0, 1], or null when nothing is drawn.
  // centre = false skips the centring: the scaled digit stays where it was drawn on the canvas.
  function preprocess(centre) {
    const { width: W, height: H } = canvas;
    const rgba = ctx.getImageData(0, 0, W, H).data;
    const ink = new Float32Array(W * H);
    let top = H, bottom = -1, left = W, right = -1;
    for (let i = 0; i < W * H; i++) {
      const v = rgba[4 * i] / 255;
      if (v > 0.05) {
        ink[i] = v;
        const x = i % W, y = (i - x) / W;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
    if (bottom < 0) return null;
    const bw = right - left + 1, bh = bottom - top + 1;
    const box = new Float32Array(bw * bh);
    for (let y = 0; y < bh; y++) box.set(ink.subarray((top + y) * W + left, (top + y) * W + left + bw), y * bw);
    const scale = BOX / Math.max(bw, bh);
    const tw = Math.max(1, Math.round(bw * scale)), th = Math.max(1, Math.round(bh * scale));
    const digit = resample(box, bw, bh, tw, th);

    let dx, dy;  // where the scaled digit's top-left pixel goes in the 28 x 28 frame
    if (centre) {
      let mass = 0, mx = 0, my = 0;
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const v = digit[y * tw + x];
          mass += v; mx += v * x; my += v * y;
        }
      }
      dx = Math.round(CENTRE - mx / mass);
      dy = Math.round(CENTRE - my / mass);
    } else {  // the box's centre at the same relative place as on the canvas
      dx = Math.round(((left + right + 1) / 2) * SIZE / W - tw / 2);
      dy = Math.round(((top + bottom + 1) / 2) * SIZE / H - th / 2);
    }
    const pixels = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const X = x + dx, Y = y + dy;
        if (X >= 0 && X < SIZE && Y >= 0 && Y < SIZE) pixels[Y * SIZE + X] = Math.min(1, digit[y * tw + x]);
      }
    }
    return pixels;
  }

  function showInput(pixels) {
    const image = inputCtx.createImageData(SIZE, SIZE);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const v = pixels ? Math.round(pixels[i] * 255) : 0;
      image.data.set([v, v, v, 255], 4 * i);
    }
    inputCtx.putImageData(image, 0, 0);
  }

  // ---- the models ---------------------------------------------------------------------------------------
  const softmax = (logits) => {
    const m = Math.max(...logits), e = Array.from(logits, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };

  let sessions = null;
  const ready = (async () => {
    if (location.protocol === "file:") {  // browsers block the runtime's module import and the models' fetch
      throw new Error("this page was opened from a file (file://), where the browser blocks the models. " +
                      "Serve the site instead: run `make serve` in the course folder and open the address it prints " +
                      "(or run `python -m http.server -d _site` and open http://localhost:8000/demo.html)");
    }
    if (typeof ort === "undefined") {
      throw new Error("ONNX Runtime Web is missing from this site (demo/ort/): build it with `make site` on a machine with Node.js");
    }
    ort.env.wasm.wasmPaths = new URL(RUNTIME, document.baseURI).href;
    ort.env.wasm.numThreads = 1;  // GitHub Pages is not cross-origin isolated: no SharedArrayBuffer threads
    const entries = await Promise.all(Object.entries(MODELS).map(async ([key, { url }]) =>
      [key, await ort.InferenceSession.create(new URL(url, document.baseURI).href, { executionProviders: ["wasm"] })]));
    sessions = Object.fromEntries(entries);
  })();

  let queue = Promise.resolve();  // one inference at a time (a WebAssembly session runs one call at once)
  function predict(pixels) {
    if (!(pixels instanceof Float32Array) || pixels.length !== SIZE * SIZE) {
      return Promise.reject(new TypeError("predict(pixels): pixels must be a Float32Array of 784 values in [0, 1]"));
    }
    const run = async () => {
      await ready;
      const result = {};
      for (const [key, session] of Object.entries(sessions)) {
        const input = new ort.Tensor("float32", Float32Array.from(pixels), [1, 1, SIZE, SIZE]);
        const output = await session.run({ [session.inputNames[0]]: input });
        result[key] = softmax(output[session.outputNames[0]].data);
      }
      return result;
    };
    const next = queue.then(run, run);
    queue = next.catch(() => {});
    return next;
  }

  // ---- the bars -------------------------------------------------------------------------------------------
  const bars = {};
  for (const key of Object.keys(MODELS)) {
    const list = $(`demo-bars-${key}`);
    bars[key] = [];
    for (let d = 0; d < 10; d++) {
      const row = document.createElement("li");
      row.innerHTML = `<span class="demo-digit">${d}</span><span class="demo-track"><span class="demo-bar"></span></span><span class="demo-value"></span>`;
      list.appendChild(row);
      bars[key].push(row);
    }
  }

  function showProbabilities(probs) {
    for (const [key, rows] of Object.entries(bars)) {
      const p = probs ? probs[key] : null;
      const best = p ? p.indexOf(Math.max(...p)) : -1;
      rows.forEach((row, d) => {
        const value = p ? p[d] : 0;
        row.querySelector(".demo-bar").style.width = `${(100 * value).toFixed(1)}%`;
        row.querySelector(".demo-value").textContent = p ? `${(100 * value).toFixed(1)}%` : "";
        row.classList.toggle("demo-best", d === best);
      });
      $(`demo-answer-${key}`).textContent = p ? `${best} (${(100 * p[best]).toFixed(0)}%)` : "–";
    }
  }

  // ---- from strokes to bars -----------------------------------------------------------------------------
  // Predict at most once per animation frame while drawing, and once more at the end of each stroke.
  const stats = { predictions: 0, strokeEnd: null, lastLatencyMs: null, firstLatencyMs: null };
  let pending = false, pendingEnd = null;
  function schedule(timeStamp, strokeEnded) {
    if (strokeEnded) pendingEnd = timeStamp;
    if (pending) return;
    pending = true;
    requestAnimationFrame(update);
  }

  let running = 0;  // updates waiting for the models
  async function update() {
    pending = false;
    const strokeEnd = pendingEnd;
    pendingEnd = null;
    const pixels = preprocess(centreSwitch.checked);
    showInput(pixels);
    if (!pixels) { showProbabilities(null); return; }
    const version = clears;
    running += 1;
    try {
      const probs = await predict(pixels);
      if (version !== clears) return;  // cleared while the models ran: keep the bars empty
      showProbabilities(probs);
      stats.predictions += 1;
      if (strokeEnd !== null) {
        stats.lastLatencyMs = performance.now() - strokeEnd;
        if (stats.firstLatencyMs === null) stats.firstLatencyMs = stats.lastLatencyMs;
      }
      if (last === null) {  // announced once the stroke ends, not at every frame of it
        const best = (p) => p.indexOf(Math.max(...p));
        status.textContent = `The CNN reads ${best(probs.cnn)}, the MLP reads ${best(probs.mlp)}.`;
      }
    } catch (error) {
      status.textContent = `Error: ${error.message}`;
      console.error(error);
    } finally {
      running -= 1;
    }
  }

  let clears = 0;  // counts the Clears, so that an answer computed before one is not shown after it
  function clear() {
    clearCanvas();
    clears += 1;
    showInput(null);
    showProbabilities(null);
    status.textContent = "Cleared: draw a digit.";
  }

  $("demo-clear").addEventListener("click", () => { clear(); canvas.focus(); });
  canvas.addEventListener("keydown", (event) => {
    if (event.key === "Delete" || event.key === "Backspace" || event.key === "Escape") {
      event.preventDefault();
      clear();
    }
  });
  centreSwitch.addEventListener("change", () => schedule(performance.now(), false));

  clearCanvas();
  showInput(null);
  showProbabilities(null);
  ready.then(
    () => { status.textContent = "Models loaded: draw a digit."; },
    (error) => { status.textContent = `The models could not be loaded: ${error.message}`; console.error(error); },
  );

  // predict: the test hook above; preprocess(): the current drawing as the models receive it (or null);
  // stats: prediction count and latencies (ms from the end of a stroke to the bars); busy(): an update is due.
  window.mnistDemo = {
    predict, ready, stats, clear,
    preprocess: () => preprocess(centreSwitch.checked),
    busy: () => pending || running > 0,
  };
})();
