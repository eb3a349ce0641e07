// The page: its UI thread only posts text to the worker and shows what
// comes back, so it stays responsive while the model runs.

const $ = (id) => document.getElementById(id);
const status = $('status');
const button = $('translate');
const output = $('output');
const figuresBox = $('figures');
const figures = {};
const started = performance.now();
const worker = new Worker('/app/worker.js');

function showFigures() {
  figuresBox.dataset.json = JSON.stringify(figures);
  const parts = [];
  if (figures.load_ms !== undefined) parts.push(`model loaded in <b>${figures.load_ms.toFixed(0)} ms</b>`);
  if (figures.threads !== undefined) parts.push(`WASM threads: <b>${figures.threads}</b>${figures.isolated ? '' : ' (not cross-origin isolated)'}`);
  if (figures.ms_per_sentence !== undefined) parts.push(`<b>${figures.ms_per_sentence.toFixed(0)} ms</b> per sentence (${figures.sentences} sentence${figures.sentences === 1 ? '' : 's'} in ${figures.total_ms.toFixed(0)} ms)`);
  figuresBox.innerHTML = parts.map((p) => `<span>${p}</span>`).join('');
}

worker.onmessage = ({data}) => {
  if (data.type === 'ready') {
    figures.load_ms = performance.now() - started;
    figures.worker_load_ms = data.loadMs;
    figures.threads = data.threads;
    figures.isolated = data.isolated;
    figures.download_bytes = data.bytes;
    status.textContent = `Ready: ${data.label}.`;
    status.dataset.state = 'ready';
    button.disabled = false;
    showFigures();
  } else if (data.type === 'result') {
    output.textContent = data.text;
    figures.sentences = data.sentences.length;
    figures.total_ms = data.totalMs;
    figures.ms_per_sentence = data.totalMs / Math.max(1, data.sentences.length);
    figures.sentence_ms = data.sentences.map((s) => s.ms);
    output.dataset.done = '1';
    button.disabled = false;
    showFigures();
  } else if (data.type === 'error') {
    status.textContent = `Error: ${data.message}`;
    status.dataset.state = 'error';
    output.dataset.done = '1';
    button.disabled = false;
  }
};
worker.onerror = (event) => {
  status.textContent = `Error: ${event.message}`;
  status.dataset.state = 'error';
};

button.addEventListener('click', () => {
  button.disabled = true;
  output.dataset.done = '0';
  output.textContent = '…';
  worker.postMessage({type: 'translate', text: $('source').value});
});
