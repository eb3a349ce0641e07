// keras-seq2seq explorer: the page's logic. Written for this project (the
// views are seq2seq-specific); the charts are plotly.js's.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { model: null, text: "", image: null, decode: null, step: 0, encode: null };

function setBusy(busy) {
  document.body.dataset.state = busy ? "busy" : "ready";
  $("explore").disabled = busy;
}

function showMessage(text, isError) {
  const box = $("message");
  box.textContent = text || "";
  box.className = isError ? "error" : "";
}

async function api(path, body) {
  const options = body instanceof FormData
    ? { method: "POST", body }
    : body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error("The explorer server does not answer (" + e.message + ").");
  }
  let data;
  try {
    data = await response.json();
  } catch (e) {
    throw new Error("The server answered " + response.status + " without JSON.");
  }
  if (!response.ok) throw new Error(data.error || ("Error " + response.status));
  return data;
}

function chip(token, extra) {
  const span = document.createElement("span");
  span.className = "token" + (token.unknown ? " unk" : "") + (token.piece ? " piece" : "");
  span.textContent = token.token;
  span.title = "id " + token.id + (extra || "");
  span.dataset.id = token.id;
  return span;
}

function fill(element, children) {
  element.replaceChildren(...children);
}

// 1. Encoder.
function drawEncoder(data) {
  state.encode = data;
  if (data.source_tokens) {
    fill($("source-tokens"), data.source_tokens.map((t) => chip(t)));
    fill($("read-order"), data.read_order.map((t, i) => chip(t, ", read " + (i + 1) + "th")));
    const notes = [];
    if (data.reversed) notes.push("The encoder reads the source reversed (Sutskever et al. 2014).");
    if (data.truncated) {
      notes.push("The text has " + data.tokens_in_text + " tokens; the model reads the first " +
        data.read_order.length + ".");
    }
    $("encoder-note").textContent = notes.join(" ");
  }
  const rows = [], labels = [];
  for (const layer of data.states) {
    for (const s of layer.states) {
      rows.push(s.values);
      labels.push("layer " + (layer.layer + 1) + " " + s.name);
    }
  }
  rows.push(data.context);
  labels.push("context");
  const width = Math.max(...rows.map((r) => r.length));
  const padded = rows.map((r) => r.concat(Array(width - r.length).fill(null)));
  Plotly.react("states-plot", [{
    z: padded, y: labels, type: "heatmap", colorscale: "RdBu", zmid: 0,
    hovertemplate: "%{y}, unit %{x}: %{z:.3f}<extra></extra>",
  }], { margin: { t: 10, l: 110, r: 10, b: 30 }, height: 60 + 26 * rows.length,
    xaxis: { title: "unit" } }, { displayModeBar: false, responsive: true });
}

// 2. Decoder, step by step.
function stepCount() {
  return state.decode ? state.decode.steps.length : 0;
}

function drawStep() {
  const decode = state.decode;
  if (!decode) return;
  const n = stepCount();
  state.step = Math.max(0, Math.min(state.step, n - 1));
  const step = decode.steps[state.step];
  $("step-label").textContent = "step " + (state.step + 1) + " of " + n;
  $("step-label").dataset.step = state.step;
  $("step-input").textContent = step.input.token;
  $("generate-share").textContent = step.generate_share === undefined ? "" :
    "(generates with weight " + step.generate_share.toFixed(3) + ", copies with " +
    (1 - step.generate_share).toFixed(3) + ")";
  const rows = step.top.map((candidate) => {
    const tr = document.createElement("tr");
    tr.className = "candidate" + (candidate.id === step.chosen.id ? " chosen" : "");
    tr.dataset.id = candidate.id;
    tr.dataset.prob = candidate.prob;
    tr.dataset.token = candidate.token;
    const bar = '<span class="bar" style="width:' + (100 * candidate.prob).toFixed(1) + '%"></span>';
    tr.innerHTML = "<td></td><td>" + candidate.id + "</td><td>" + bar +
      candidate.prob.toFixed(6) + "</td>";
    tr.firstChild.textContent = candidate.token;
    tr.title = "Feed back '" + candidate.token + "' at this step";
    tr.addEventListener("click", () => choose(state.step, candidate.id));
    return tr;
  });
  if (!step.top.some((c) => c.id === step.chosen.id)) {
    const tr = document.createElement("tr");
    tr.className = "chosen forced";
    tr.innerHTML = "<td></td><td>" + step.chosen.id + "</td><td>" + step.chosen.prob.toFixed(6) +
      "</td>";
    tr.firstChild.textContent = step.chosen.token + " (chosen)";
    rows.push(tr);
  }
  fill($("top-k-table").tBodies[0], rows);
  const written = decode.steps.slice(0, state.step + 1).map((s) => {
    const span = document.createElement("span");
    // Marked: the tokens fed back that the decoder would not have chosen.
    const overridden = s.forced && s.chosen.id !== s.top[0].id;
    span.className = "token" + (overridden ? " forced" : "");
    span.title = overridden ? "chosen by you (the decoder's pick: " + s.top[0].token + ")" : "";
    span.textContent = s.chosen.token;
    return span;
  });
  fill($("output-so-far"), written);
  $("translation").textContent = decode.text;
  $("prev").disabled = state.step === 0;
  $("next").disabled = $("run-end").disabled = state.step >= n - 1;
  drawAttention();
}

async function choose(step, tokenId) {
  const prefix = state.decode.steps.slice(0, step).map((s) => s.chosen.id).concat([tokenId]);
  await run(async () => {
    state.decode = await decodeWith(prefix);
    state.step = Math.min(step + 1, stepCount() - 1);
    drawStep();
  });
}

async function decodeWith(prefix) {
  const topK = parseInt($("top-k").value, 10) || 5;
  if (state.model.kind === "captioner") {
    const form = captionForm();
    form.append("prefix", JSON.stringify(prefix));
    form.append("top_k", topK);
    return (await api("/api/caption", form)).decode;
  }
  return api("/api/decode", { text: state.text, prefix, top_k: topK });
}

// 5. Attention.
function drawAttention() {
  const decode = state.decode;
  const section = $("attention-section");
  if (!decode || !decode.steps.length || decode.steps[0].attention === undefined) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const shown = decode.steps.slice(0, state.step + 1);
  const source = state.encode.read_order.map((t, i) => i + 1 + ". " + t.token);
  Plotly.react("attention-plot", [{
    z: shown.map((s) => s.attention), x: source,
    y: shown.map((s, i) => i + 1 + ". " + s.chosen.token),
    type: "heatmap", colorscale: "Blues", reversescale: true, zmin: 0, zmax: 1,
    hovertemplate: "%{y} looks at %{x}: %{z:.3f}<extra></extra>",
  }], { margin: { t: 10, l: 120, r: 10, b: 90 }, height: 140 + 22 * shown.length,
    yaxis: { autorange: "reversed" }, xaxis: { title: "source, in reading order" } },
  { displayModeBar: false, responsive: true });
}

// 3. Teacher forcing.
function drawTeacher(data) {
  if (!data) {
    fill($("teacher-table").tBodies[0], []);
    $("teacher-summary").textContent =
      "Give a reference translation to see how likely the model finds each true token.";
    return;
  }
  const rows = data.steps.map((s) => {
    const tr = document.createElement("tr");
    const departs = data.departs_at === s.step;
    tr.className = (s.predicted.id === s.target.id ? "" : "miss") + (departs ? " departs" : "");
    for (const value of [s.step + 1, s.input.token, s.target.token, s.prob.toFixed(4),
      s.loss.toFixed(3), s.predicted.token + " (" + s.predicted.prob.toFixed(3) + ")"]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    tr.dataset.prob = s.prob;
    return tr;
  });
  fill($("teacher-table").tBodies[0], rows);
  const where = data.departs_at === null ? "never leaves the reference" :
    "leaves the reference at step " + (data.departs_at + 1);
  $("teacher-summary").textContent = "Mean loss " + data.mean_loss.toFixed(3) +
    " per token. Free-running, the decoder writes \u201c" + data.free_running_text + "\u201d: it " +
    where + ".";
}

// 4. Beam search.
function drawBeam(data) {
  $("beam-k").textContent = data.beam_size;
  const x = [], y = [], text = [], symbols = [], colors = [], lineX = [], lineY = [];
  x.push(0); y.push(0); text.push("<start>"); symbols.push("circle"); colors.push(0);
  data.steps.forEach((nodes, t) => {
    nodes.forEach((node, j) => {
      if (node.carried) return;
      x.push(t + 1); y.push(j); text.push(node.token + " (" + node.score.toFixed(2) + ")");
      symbols.push(node.finishes ? "square" : "circle"); colors.push(node.score);
      const parentY = t === 0 ? 0 : node.parent;
      lineX.push(t, t + 1, null); lineY.push(parentY, j, null);
    });
  });
  Plotly.react("beam-plot", [
    { x: lineX, y: lineY, mode: "lines", line: { color: "#bbb" }, hoverinfo: "skip",
      showlegend: false },
    { x, y, text, mode: "markers+text", textposition: "top center", showlegend: false,
      marker: { symbol: symbols, size: 11, color: colors, colorscale: "Viridis",
        colorbar: { title: "score" } },
      hovertemplate: "%{text}<extra></extra>" },
  ], { margin: { t: 20, l: 40, r: 10, b: 40 }, height: 120 + 60 * data.beam_size,
    xaxis: { title: "step" }, yaxis: { title: "beam", autorange: "reversed", dtick: 1 } },
  { displayModeBar: false, responsive: true });
  const rows = data.hypotheses.map((h, i) => {
    const tr = document.createElement("tr");
    for (const value of [i + 1, h.text, h.log_prob.toFixed(3), h.length, h.score.toFixed(3)]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    }
    return tr;
  });
  fill($("beam-table").tBodies[0], rows);
  $("beam-best").textContent = data.best;
}

function captionForm() {
  const form = new FormData();
  form.append("image", state.image);
  form.append("beam_size", $("beam-size").value);
  return form;
}

async function run(work) {
  setBusy(true);
  showMessage("");
  try {
    await work();
  } catch (e) {
    showMessage(e.message, true);
  } finally {
    setBusy(false);
  }
}

async function explore(event) {
  if (event) event.preventDefault();
  await run(async () => {
    state.step = 0;
    if (state.model.kind === "captioner") {
      const file = $("image").files[0];
      if (!file) throw new Error("Choose an image first.");
      state.image = file;
      const form = captionForm();
      form.append("top_k", parseInt($("top-k").value, 10) || 5);
      const data = await api("/api/caption", form);
      state.encode = { read_order: [] };
      state.decode = data.decode;
      drawStep();
      drawBeam(data.beam);
      return;
    }
    state.text = $("text").value;
    const reference = $("reference").value;
    const beamSize = parseInt($("beam-size").value, 10);
    drawEncoder(await api("/api/encode", { text: state.text }));
    state.decode = await decodeWith([]);
    drawStep();
    drawBeam(await api("/api/beam", { text: state.text, beam_size: beamSize }));
    drawTeacher(reference.trim() ?
      await api("/api/teacher", { text: state.text, reference }) : null);
  });
}

function describe(model) {
  const parts = [model.label + ":", model.kind, model.num_layers + " x " + model.units,
    model.cell_type.toUpperCase()];
  if (model.attention) parts.push("with attention" + (model.copy_attention ? " and copying" : ""));
  if (model.kind === "translator") parts.push(model.tokenizer + " tokens");
  return parts.join(" ");
}

async function loadModel() {
  state.model = await api("/api/model");
  $("model-info").textContent = describe(state.model);
  // The model's own decoding settings choose the beam size shown first.
  if (state.model.decoding) $("beam-size").value = String(state.model.decoding.beam_size);
  const captioner = state.model.kind === "captioner";
  $("text-input").hidden = captioner;
  $("image-input").hidden = !captioner;
  $("encoder-section").hidden = captioner;
  $("teacher-section").hidden = captioner;
}

document.addEventListener("DOMContentLoaded", async () => {
  $("input-form").addEventListener("submit", explore);
  $("prev").addEventListener("click", () => { state.step -= 1; drawStep(); });
  $("next").addEventListener("click", () => { state.step += 1; drawStep(); });
  $("run-end").addEventListener("click", () => { state.step = stepCount() - 1; drawStep(); });
  $("reset").addEventListener("click", () => run(async () => {
    state.decode = await decodeWith([]);
    state.step = 0;
    drawStep();
  }));
  $("toy").addEventListener("click", () => run(async () => {
    showMessage("Training the walk-through model...");
    await api("/api/toy", {});
    await loadModel();
    $("text").value = "nice to meet you";
    $("reference").value = "ravi de vous rencontrer";
    await explore();
  }));
  try {
    await loadModel();
    setBusy(false);
  } catch (e) {
    showMessage(e.message, true);
    document.body.dataset.state = "ready";
  }
});
