// Draw a digit (demo.qmd): the course's own models, lesson 1's MLP and lesson 4's CNN, run in the browser
// by ONNX Runtime Web (copied into the site by `make site`, never loaded from a CDN), and a glass box:
// the CNN's feature maps, live, with the receptive field of any position; and a model of the student's own.
//
// The path of a drawing: canvas strokes (ink bright on dark) -> MNIST's preprocessing (bounding box
// scaled to fit 20x20 keeping the aspect ratio, then centred by its centre of mass in 28x28) -> pixels in
// [0, 1] -> each model (its first layer is mc.Normalize, so normalization lives in the exported file)
// -> softmax of the logits -> bars. The CNN runs as demo/feature-maps/lesson4_cnn_feature_maps.onnx:
// lesson 4's export with every convolution's activations as extra outputs (tools/feature_maps.py, run by
// `make site`), so one run gives the answer and the feature maps.
//
// Test hooks on window.mnistDemo: predict(pixels), pixels a Float32Array of 784 values in [0, 1]
// (row-major 28x28, ink = 1), resolves to {cnn: number[10], mlp: number[10], own?: number[10]} of
// probabilities, no preprocessing; featureMaps(pixels) resolves to {layer name: {channels, size, data}};
// field() is the receptive field shown now (or null); loadModel(file) loads a model of one's own.
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
  // The manifest of the CNN with its feature maps as outputs (tools/feature_maps.py): layers, output names.
  const FEATURE_MAPS = "demo/feature-maps/lesson4_cnn_feature_maps.json";
  const MAP_PX = 48;        // a feature map is drawn about this many CSS pixels wide (a whole multiple of its size)

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
  // A finger's stroke is drawing, not a gesture. Without this, the browser's gesture recognizer still
  // reads a fast flick on the canvas as a fling (touch-action: none stops the scrolling, not the fling),
  // and a tap during a fling only stops the fling: a tap on Clear just after a flick gave no click for
  // 1-3 s (issue 31). Cancelling the touch events' default action keeps the gesture recognizer out; the
  // pointer events above are unaffected.
  for (const type of ["touchstart", "touchmove"]) {
    canvas.addEventListener(type, (event) => event.preventDefault(), { passive: false });
  }

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

  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

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
    // The whole scaled digit stays inside the frame: a digit drawn against the canvas' edge (centring
    // off), or one whose ink is very lopsided (centring on), is moved inwards rather than cut off.
    dx = clamp(dx, 0, SIZE - tw);
    dy = clamp(dy, 0, SIZE - th);
    const pixels = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) pixels[(y + dy) * SIZE + x + dx] = Math.min(1, digit[y * tw + x]);
    }
    return pixels;
  }

  // A greyscale image of `n` x `n` values (0 black, `max` white, or all black without `max`) into `context`;
  // `dim(y, x)` may darken a pixel (a factor in [0, 1]).
  function paint(context, values, n, max, offset = 0, dim = null) {
    const image = context.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      let v = values && max > 0 ? values[offset + i] / max : 0;
      if (dim) v *= dim((i - (i % n)) / n, i % n);
      const g = Math.round(255 * clamp(v, 0, 1));
      image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = g;
      image.data[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }

  // ---- the models ---------------------------------------------------------------------------------------
  const softmax = (logits) => {
    const m = Math.max(...logits), e = Array.from(logits, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };

  // Every use of the sessions runs through this queue, one job at a time (a WebAssembly session runs one
  // call at once, and a model of one's own is swapped in between two runs, never during one).
  let queue = Promise.resolve();
  function enqueue(job) {
    const next = queue.then(job, job);
    queue = next.catch(() => {});
    return next;
  }

  // ---- loading, visibly (issue 44: a slow phone) -------------------------------------------------------
  // The runtime's WebAssembly file is nearly all of the page's weight (14 MB, about 3.7 MB compressed).
  // The page fetches it itself, to show its progress in the loading panel at the top of the page (in the
  // first screen of a phone), then hands it to the runtime (ort.env.wasm.wasmBinary). Drawing works
  // meanwhile: the answer to the drawing appears as soon as the models are loaded.
  const WASM = "ort-wasm-simd-threaded.wasm";
  const loading = $("demo-loading");
  const progressBar = $("demo-progress");
  const progressText = $("demo-progress-text");
  function showProgress(text, fraction) {
    if (progressText) progressText.textContent = text;
    if (progressBar) {
      if (fraction === null) progressBar.removeAttribute("value"); else progressBar.value = Math.round(100 * fraction);
    }
  }
  const MB = (bytes) => (bytes / 1e6).toFixed(1);
  // The bytes of `url`, reporting progress; `expected`: its uncompressed size (the server may send it
  // compressed, when Content-Length is the compressed size).
  async function fetchWithProgress(url, expected) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const encoded = response.headers.get("Content-Encoding");
    const total = expected || (!encoded && Number(response.headers.get("Content-Length"))) || 0;
    if (!response.body || !response.body.getReader) return new Uint8Array(await response.arrayBuffer());
    const reader = response.body.getReader(), parts = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      received += value.length;
      showProgress(total ? `Loading the models: ${MB(received)} of ${MB(total)} MB` : `Loading the models: ${MB(received)} MB`,
                   total ? Math.min(received / total, 1) : null);
    }
    const bytes = new Uint8Array(received);
    let at = 0;
    for (const part of parts) { bytes.set(part, at); at += part.length; }
    return bytes;
  }
  // WebAssembly SIMD, which this build of the runtime needs (Safari before 16.4 lacks it): a tiny module
  // with one SIMD instruction validates only where it is supported (as in wasm-feature-detect).
  const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8,
                                     0, 65, 0, 253, 15, 253, 98, 11]);
  const NO_SIMD = "your browser cannot run the models: they need WebAssembly with SIMD, which Safari has from " +
                  "version 16.4 (iOS 16.4) and Chrome, Edge and Firefox have had since 2021. Update the browser, " +
                  "or open this page in another one; the rest of the course works here";
  function hasSimd() {
    try { return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE); } catch (e) { return false; }
  }

  let sessions = null;  // {cnn, mlp[, own]}: ort.InferenceSession
  let manifest = null;  // the feature-map model's layers (tools/feature_maps.py), or null without it
  const ready = (async () => {
    if (location.protocol === "file:") {  // browsers block the runtime's module import and the models' fetch
      throw new Error("this page was opened from a file (file://), where the browser blocks the models. " +
                      "Serve the site instead: run `make serve` in the course folder and open the address it prints " +
                      "(or run `python -m http.server -d _site` and open http://localhost:8000/demo.html)");
    }
    if (typeof ort === "undefined") {
      throw new Error("ONNX Runtime Web is missing from this site (demo/ort/): build it with `make site` on a machine with Node.js");
    }
    if (!hasSimd()) throw new Error(NO_SIMD);
    ort.env.wasm.wasmPaths = new URL(RUNTIME, document.baseURI).href;
    ort.env.wasm.numThreads = 1;  // GitHub Pages is not cross-origin isolated: no SharedArrayBuffer threads
    const manifestUrl = new URL(FEATURE_MAPS, document.baseURI);
    const [response, sizes] = await Promise.all([
      fetch(manifestUrl).catch(() => null),
      fetch(new URL(RUNTIME + "sizes.json", document.baseURI)).then((r) => (r.ok ? r.json() : {})).catch(() => ({})),
    ]);
    manifest = response && response.ok ? await response.json() : null;
    ort.env.wasm.wasmBinary = await fetchWithProgress(new URL(RUNTIME + WASM, document.baseURI).href, sizes[WASM]);
    showProgress("Starting the models…", 1);
    const urls = {
      cnn: manifest ? new URL(manifest.model, manifestUrl).href : new URL(MODELS.cnn.url, document.baseURI).href,
      mlp: new URL(MODELS.mlp.url, document.baseURI).href,
    };
    let entries;
    try {
      entries = await Promise.all(Object.entries(urls).map(async ([key, url]) =>
        [key, await ort.InferenceSession.create(url, { executionProviders: ["wasm"] })]));
    } catch (error) {  // e.g. "no available backend found. ERR: [wasm] ...": say it in plain words
      if (/backend|wasm|WebAssembly/i.test(error.message)) {
        throw new Error("your browser could not start the models' runtime (WebAssembly). Update the browser or " +
                        `open this page in another one. (${error.message})`);
      }
      throw error;
    }
    sessions = Object.fromEntries(entries);
    if (manifest) buildFeatureMaps();
  })();

  const imageTensor = (pixels) => new ort.Tensor("float32", Float32Array.from(pixels), [1, 1, SIZE, SIZE]);

  // One run of every model on `pixels`: {probs: {cnn, mlp[, own]}, maps: {layer name: Float32Array} or null}.
  async function runModels(pixels) {
    await ready;
    const probs = {};
    let maps = null;
    for (const [key, session] of Object.entries(sessions)) {
      const output = await session.run({ [session.inputNames[0]]: imageTensor(pixels) });
      if (key === "cnn" && manifest) {
        probs.cnn = softmax(output[manifest.logits].data);
        maps = Object.fromEntries(convLayers().map((layer) => [layer.name, output[layer.output].data]));
      } else {
        probs[key] = softmax(output[session.outputNames[0]].data);
      }
    }
    return { probs, maps };
  }

  function checkPixels(pixels, hook) {
    if (!(pixels instanceof Float32Array) || pixels.length !== SIZE * SIZE) {
      throw new TypeError(`${hook}(pixels): pixels must be a Float32Array of 784 values in [0, 1]`);
    }
  }

  function predict(pixels) {
    try { checkPixels(pixels, "predict"); } catch (error) { return Promise.reject(error); }
    return enqueue(() => runModels(pixels)).then((result) => result.probs);
  }

  function featureMaps(pixels) {
    try { checkPixels(pixels, "featureMaps"); } catch (error) { return Promise.reject(error); }
    return enqueue(() => runModels(pixels)).then(({ maps }) => maps && Object.fromEntries(convLayers().map((l) =>
      [l.name, { channels: l.channels, size: l.n_out, data: Array.from(maps[l.name]) }])));
  }

  // ---- a model of one's own -------------------------------------------------------------------------------
  // An ONNX file a student exported from a lesson (mc.export_onnx): input [N, 1, 28, 28] pixels in [0, 1],
  // one output of 10 logits. Checked before it joins the course's models; a file that does not fit is
  // refused with what is wrong and what the page needs.
  const ownFile = $("demo-own-file");
  const ownStatus = $("demo-own-status");
  const ownBlock = $("demo-model-own");
  const EXPECTED = "an ONNX file of a model that takes [N, 1, 28, 28] images with pixels in [0, 1] and gives " +
                   "10 logits ([N, 10]), as mc.export_onnx exports the lessons' models";
  // ONNX Runtime's own words, without its error code: "Can't create a session. ERROR_CODE: 7, ERROR_MESSAGE: ...".
  const reason = (error) => String(error.message || error).split("\n")[0].replace(/^.*ERROR_MESSAGE: /, "").replace(/\.$/, "");

  // What is wrong with `session` for this page, or null.
  async function problemWith(session) {
    if (session.inputNames.length !== 1) {
      return `it has ${session.inputNames.length} inputs (${session.inputNames.join(", ")}); the page gives one, the image`;
    }
    const input = session.inputMetadata?.[0];
    if (input && input.isTensor) {
      if (input.type !== "float32") return `its input holds ${input.type} values; the page gives float32 pixels`;
      const dims = input.shape;
      const fits = dims.length === 4 && [1, SIZE, SIZE].every((want, i) => typeof dims[i + 1] !== "number" || dims[i + 1] === want);
      if (!fits) return `its input has the shape [${dims.join(", ")}]; the page gives [N, 1, 28, 28]`;
    }
    if (session.outputNames.length !== 1) {
      return `it has ${session.outputNames.length} outputs (${session.outputNames.join(", ")}); the page reads one, the 10 logits`;
    }
    let output;
    try {
      output = (await session.run({ [session.inputNames[0]]: imageTensor(new Float32Array(SIZE * SIZE)) }))[session.outputNames[0]];
    } catch (error) {
      return `it does not run on a [1, 1, 28, 28] image (${reason(error)})`;
    }
    const dims = output.dims;
    if (dims.length !== 2 || dims[0] !== 1 || dims[1] !== 10) {
      return `for one image it gives an output of shape [${dims.join(", ")}]; the page needs [1, 10], one logit per digit`;
    }
    return null;
  }

  // Load `file` (a File or Blob with a name) as the own model; resolves to true, or false with the
  // reason in the status line. A file that does not fit leaves the previous own model in place.
  async function loadModel(file) {
    await ready.catch(() => {});
    if (!sessions) { ownStatus.textContent = "The course's models did not load, so no model of your own can run."; return false; }
    const name = file.name || "your file";
    ownStatus.textContent = `Checking ${name}…`;
    const problem = await enqueue(async () => {
      let session;
      try {
        session = await ort.InferenceSession.create(new Uint8Array(await file.arrayBuffer()), { executionProviders: ["wasm"] });
      } catch (error) {
        return `${name} is not an ONNX model that ONNX Runtime can read (${reason(error)})`;
      }
      const why = await problemWith(session);
      if (why) { await session.release(); return `${name} does not fit: ${why}`; }
      const previous = sessions.own;
      sessions.own = session;
      if (previous) await previous.release();
      return null;
    });
    if (problem) {
      ownStatus.textContent = `${problem}. Pick ${EXPECTED}.`;
      ownStatus.classList.add("demo-error");
      return false;
    }
    ownStatus.classList.remove("demo-error");
    ownStatus.textContent = `${name} loaded: its answer is shown next to the course's models.`;
    $("demo-own-name").textContent = name;
    ownBlock.hidden = false;
    schedule(performance.now(), true);
    return true;
  }
  ownFile.addEventListener("change", () => { if (ownFile.files.length) loadModel(ownFile.files[0]); });

  // ---- the bars -------------------------------------------------------------------------------------------
  const bars = {};
  for (const key of ["cnn", "mlp", "own"]) {
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
      const p = probs && probs[key] ? probs[key] : null;
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

  // ---- the glass box: feature maps and receptive fields ------------------------------------------------------
  // The lesson's arithmetic (mc.receptive_field_table): from r = 1, j = 1 at the input, a layer with kernel
  // k, stride s and padding p gives r_out = r_in + (k - 1) j_in and j_out = j_in s; its first output's
  // window starts p j_in pixels further left (in the padding). Returns the manifest's layers with r, j, start.
  function receptiveFields(layers) {
    let r = 1, j = 1, start = 0;
    return layers.map((layer) => {
      start -= layer.p * j;
      r += (layer.k - 1) * j;
      j *= layer.s;
      return { ...layer, r, j, start };
    });
  }
  let fields = [];  // receptiveFields(manifest.layers), filled once the manifest is read
  const convLayers = () => fields.filter((layer) => layer.output);

  // The input pixels that position (row, col) of `layer` sees: nominal span and the part inside the image.
  function windowOf(layer, row, col) {
    const span = (i) => {
      const first = layer.start + i * layer.j, last = first + layer.r - 1;
      return { first, last, lo: Math.max(first, 0), hi: Math.min(last, SIZE - 1) };
    };
    return { rows: span(row), cols: span(col) };
  }

  const fieldView = $("demo-field");
  const fieldCtx = fieldView.getContext("2d");
  const fieldBox = $("demo-field-window");
  const fieldText = $("demo-field-text");
  const layerBlocks = [];          // per convolution: {layer, element, maps: [{canvas, context, marker}]}
  let selected = null;             // {index (into layerBlocks), row, col}: the position shown, or null
  let shown = { pixels: null, maps: null };  // what the glass box shows: the last drawing the CNN ran on

  function buildFeatureMaps() {
    fields = receptiveFields(manifest.layers);
    const host = $("demo-layers");
    convLayers().forEach((layer, index) => {
      const n = layer.n_out, px = n * Math.max(1, Math.round(MAP_PX / n));
      const after = layer.after.length ? ` after ${layer.after.map((op) => op === "Relu" ? "ReLU" : op).join(", ")}` : "";
      const element = document.createElement("div");
      element.className = "fm-layer";
      element.tabIndex = 0;
      element.setAttribute("role", "group");
      element.setAttribute("aria-label", `${layer.name}: ${layer.channels} feature maps of ${n} by ${n}${after}. ` +
                           "Arrow keys move the position whose receptive field is shown.");
      element.setAttribute("aria-describedby", "demo-field-text");
      element.innerHTML = `<h3>${layer.name}<span class="fm-shape">${layer.channels} maps, ${n} × ${n}${after && ","}${after}</span></h3>` +
                          '<div class="fm-maps"></div>';
      const grid = element.querySelector(".fm-maps");
      const maps = [];
      for (let c = 0; c < layer.channels; c++) {
        const cell = document.createElement("div");
        cell.className = "fm-cell";
        cell.style.width = cell.style.height = `${px}px`;
        cell.innerHTML = `<canvas width="${n}" height="${n}" aria-hidden="true"></canvas><span class="fm-marker" hidden></span>`;
        cell.title = `${layer.name}, channel ${c}`;
        grid.appendChild(cell);
        const mapCanvas = cell.querySelector("canvas");
        maps.push({ canvas: mapCanvas, context: mapCanvas.getContext("2d"), marker: cell.querySelector(".fm-marker") });
        paint(maps[c].context, null, n, 0);
        const point = (event) => {
          const rect = mapCanvas.getBoundingClientRect();
          select(index, clamp(Math.floor((event.clientY - rect.top) / rect.height * n), 0, n - 1),
                 clamp(Math.floor((event.clientX - rect.left) / rect.width * n), 0, n - 1), c);
        };
        mapCanvas.addEventListener("pointermove", point);   // a mouse or pen hovering
        mapCanvas.addEventListener("pointerdown", point);   // a tap
      }
      element.addEventListener("focus", () => {
        if (!selected || selected.index !== index) select(index, (n - 1) >> 1, (n - 1) >> 1);
      });
      element.addEventListener("keydown", (event) => {
        const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
        const move = moves[event.key];
        if (!move || !selected) return;
        event.preventDefault();  // move the position, not the page
        select(index, clamp(selected.row + move[0], 0, n - 1), clamp(selected.col + move[1], 0, n - 1));
      });
      host.appendChild(element);
      layerBlocks.push({ layer, element, maps });
    });
    $("demo-glassbox").classList.add("fm-ready");
    fieldText.textContent = "Point at a feature map (or Tab to one and use the arrow keys) to see which input pixels that position sees.";
  }

  // Show the receptive field of position (row, col) of layerBlocks[index]; `channel`: the map pointed at.
  function select(index, row, col, channel = null) {
    const before = selected;
    selected = { index, row, col, channel: channel ?? (before && before.index === index ? before.channel : null) };
    const same = before && ["index", "row", "col", "channel"].every((key) => before[key] === selected[key]);
    if (!same) renderSelection();
  }

  function renderSelection() {
    layerBlocks.forEach(({ layer, maps }, index) => {
      const n = layer.n_out;
      for (const { marker } of maps) {
        marker.hidden = !selected || selected.index !== index;
        if (marker.hidden) continue;
        Object.assign(marker.style, { left: `${100 * selected.col / n}%`, top: `${100 * selected.row / n}%`,
                                      width: `${100 / n}%`, height: `${100 / n}%` });
      }
    });
    if (!selected) { fieldBox.hidden = true; paintField(); return; }
    const { layer } = layerBlocks[selected.index];
    const { rows, cols } = windowOf(layer, selected.row, selected.col);
    Object.assign(fieldBox.style, { left: `${100 * cols.lo / SIZE}%`, top: `${100 * rows.lo / SIZE}%`,
                                    width: `${100 * (cols.hi - cols.lo + 1) / SIZE}%`,
                                    height: `${100 * (rows.hi - rows.lo + 1) / SIZE}%` });
    fieldBox.hidden = false;
    Object.assign(fieldBox.dataset, { rows: `${rows.lo}-${rows.hi}`, cols: `${cols.lo}-${cols.hi}` });
    paintField();
    const clipped = rows.first < rows.lo || rows.last > rows.hi || cols.first < cols.lo || cols.last > cols.hi
      ? ` (nominally rows ${rows.first} to ${rows.last}, columns ${cols.first} to ${cols.last}: the rest is padding outside the image)` : "";
    let strongest = "";
    if (shown.maps) {
      const n = layer.n_out, data = shown.maps[layer.name], at = selected.row * n + selected.col;
      let best = 0;
      for (let c = 1; c < layer.channels; c++) if (data[c * n * n + at] > data[best * n * n + at]) best = c;
      const value = (c) => data[c * n * n + at].toFixed(2);
      strongest = selected.channel !== null
        ? ` Channel ${selected.channel} here: ${value(selected.channel)}; the strongest here: channel ${best} (${value(best)}).`
        : ` The strongest channel here: ${best} (${value(best)}).`;
    }
    fieldText.textContent = `${layer.name}, row ${selected.row}, column ${selected.col} of ${layer.n_out} × ${layer.n_out}: ` +
      `sees input rows ${rows.lo} to ${rows.hi} and columns ${cols.lo} to ${cols.hi}, ` +
      `${rows.hi - rows.lo + 1} × ${cols.hi - cols.lo + 1} pixels${clipped}. ` +
      `Receptive field r = ${layer.r}, jump j = ${layer.j}.${strongest}`;
  }

  // The 28 x 28 input in the glass box, the pixels outside the highlighted window dimmed.
  function paintField() {
    let dim = null;
    if (selected) {
      const { rows, cols } = windowOf(layerBlocks[selected.index].layer, selected.row, selected.col);
      dim = (y, x) => (y >= rows.lo && y <= rows.hi && x >= cols.lo && x <= cols.hi ? 1 : 0.3);
    }
    paint(fieldCtx, shown.pixels, SIZE, 1, 0, dim);
  }

  // Every map of every convolution, each layer scaled by its largest value for this drawing (white). While
  // the glass box is off screen (e.g. a phone showing the drawing area) the 70 maps are not painted at every
  // frame of a stroke, only once it scrolls into view; a Clear paints them at once.
  let glassBoxOnScreen = true, mapsStale = false;
  new IntersectionObserver(([entry]) => {
    glassBoxOnScreen = entry.isIntersecting;
    if (glassBoxOnScreen && mapsStale) paintFeatureMaps();
  }).observe($("demo-glassbox"));

  function showFeatureMaps(pixels, maps) {
    shown = { pixels, maps };
    if (maps && !glassBoxOnScreen) {
      mapsStale = true;
      if (selected) renderSelection();  // the readout's values
      return;
    }
    paintFeatureMaps();
  }

  function paintFeatureMaps() {
    const { maps } = shown;
    mapsStale = false;
    for (const { layer, maps: views } of layerBlocks) {
      const data = maps ? maps[layer.name] : null, n = layer.n_out;
      let max = 0;
      if (data) for (const v of data) if (v > max) max = v;
      views.forEach(({ context }, c) => paint(context, data, n, max, c * n * n));
    }
    if (selected) renderSelection(); else paintField();
  }

  // ---- from strokes to bars -----------------------------------------------------------------------------
  // The models run on the latest drawing at most once per animation frame, and never twice at once: while
  // a run is in progress, new strokes only mark the drawing as changed, and one more run follows with the
  // newest drawing. (Queueing a run per frame piled up runs behind a fast flick, and Clear had to wait for
  // all of them: issue 31.)
  const stats = { predictions: 0, strokeEnd: null, lastLatencyMs: null, firstLatencyMs: null, loadedMs: null };
  let frameRequested = false, running = false, changed = false, pendingEnd = null;
  function schedule(timeStamp, strokeEnded) {
    if (strokeEnded) pendingEnd = timeStamp;
    if (running) { changed = true; return; }
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(update);
  }

  async function update() {
    frameRequested = false;
    const strokeEnd = pendingEnd;
    pendingEnd = null;
    const pixels = preprocess(centreSwitch.checked);
    showInput(pixels);
    if (!pixels) { showProbabilities(null); showFeatureMaps(null, null); return; }
    const version = clears;
    running = true;
    try {
      const { probs, maps } = await enqueue(() => runModels(pixels));
      if (version !== clears) return;  // cleared while the models ran: keep the bars empty
      showProbabilities(probs);
      if (maps) showFeatureMaps(pixels, maps);
      stats.predictions += 1;
      if (strokeEnd !== null) {
        stats.lastLatencyMs = performance.now() - strokeEnd;
        if (stats.firstLatencyMs === null) stats.firstLatencyMs = stats.lastLatencyMs;
      }
      if (last === null) {  // announced once the stroke ends, not at every frame of it
        const best = (p) => p.indexOf(Math.max(...p));
        status.textContent = `The CNN reads ${best(probs.cnn)}, the MLP reads ${best(probs.mlp)}` +
                             (probs.own ? `, your model reads ${best(probs.own)}.` : ".");
      }
    } catch (error) {
      status.textContent = `Error: ${error.message}`;
      console.error(error);
    } finally {
      running = false;
      if (changed) { changed = false; schedule(performance.now(), false); }  // in a new frame: input first
    }
  }

  function showInput(pixels) {
    paint(inputCtx, pixels, SIZE, 1);
  }

  let clears = 0;  // counts the Clears, so that an answer computed before one is not shown after it
  function clear() {
    clearCanvas();
    clears += 1;
    changed = false;
    showInput(null);
    showProbabilities(null);
    showFeatureMaps(null, null);
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
  paint(fieldCtx, null, SIZE, 0);
  status.textContent = "Loading the models… You can draw already: the answers appear once they are loaded.";
  ready.then(
    () => {
      stats.loadedMs = performance.now();  // since the page's navigation began
      status.textContent = "Models loaded: draw a digit.";
      if (loading) loading.hidden = true;
      if (!manifest) fieldText.textContent = "The feature maps are missing from this site (demo/feature-maps/): build it with `make site`.";
      if (preprocess(centreSwitch.checked)) {  // drawn while loading: answer it now
        status.textContent = "Models loaded.";
        schedule(performance.now(), true);
      }
    },
    (error) => {
      status.textContent = `The models could not be loaded: ${error.message}`;
      if (loading) { loading.classList.add("demo-loading-failed"); showProgress(`The models could not be loaded: ${error.message}`, 0); }
      console.error(error);
    },
  );

  // predict, featureMaps, loadModel: see the top; preprocess(): the current drawing as the models receive
  // it (or null); stats: prediction count and latencies (ms from the end of a stroke to the bars);
  // busy(): an update is due; field(): the receptive field shown ({layer, row, col, r, j, rows, cols}) or null.
  window.mnistDemo = {
    predict, featureMaps, loadModel, ready, stats, clear,
    preprocess: () => preprocess(centreSwitch.checked),
    busy: () => frameRequested || running || changed,
    field: () => {
      if (!selected) return null;
      const { layer } = layerBlocks[selected.index];
      const { rows, cols } = windowOf(layer, selected.row, selected.col);
      return { layer: layer.name, row: selected.row, col: selected.col, r: layer.r, j: layer.j,
               rows: [rows.lo, rows.hi], cols: [cols.lo, cols.hi] };
    },
  };
})();
