// The Web Worker: loads LiteRT.js (its .wasm from this server) and the
// export, then translates the texts the page posts. A classic worker, as
// LiteRT.js loads its Emscripten script with importScripts; the ES modules
// come in through dynamic import().

let translator;
const ready = (async () => {
  const start = performance.now();
  const liteRt = await import('/litert/core.js');
  const {Translator} = await import('/app/seq2seq.mjs');
  const isolated = self.crossOriginIsolated === true;
  // The multi-threaded build needs SharedArrayBuffer (cross-origin
  // isolation); the single-threaded one is the fallback.
  let threads = false;
  if (isolated) {
    try {
      await liteRt.loadLiteRt('/litert/wasm/', {threads: true});
      threads = true;
    } catch (e) {
      console.warn('LiteRT.js threads unavailable:', e);
    }
  }
  if (!threads) await liteRt.loadLiteRt('/litert/wasm/');
  const get = async (name, kind) => {
    const response = await fetch(`/model/${name}`);
    if (!response.ok) throw new Error(`/model/${name}: HTTP ${response.status}`);
    return kind === 'bytes' ? new Uint8Array(await response.arrayBuffer()) : kind === 'json' ? response.json() : response.text();
  };
  const config = await get('tflite_config.json', 'json');
  const {checkConfig} = await import('/app/seq2seq.mjs');
  checkConfig(config);
  const [model, sourceVocab, targetVocab] = await Promise.all([
    get('model.tflite', 'bytes'), get('source_vocab.txt'), get('target_vocab.txt')]);
  translator = await Translator.load(liteRt, {config, model, sourceVocab, targetVocab});
  const label = `${config.source_language ?? 'en'}→${config.target_language ?? 'fr'}, ` +
    `${config.model.cell_type} ${config.model.units}, ${config.quantize}, beam ${translator.decoding.beam_size}`;
  self.postMessage({type: 'ready', loadMs: performance.now() - start, threads: translator.threads,
    isolated, bytes: model.byteLength + sourceVocab.length + targetVocab.length, label});
})().catch((e) => self.postMessage({type: 'error', message: String(e && e.message || e)}));

self.onmessage = async ({data}) => {
  if (data.type !== 'translate') return;
  try {
    await ready;
    if (!translator) return;
    const start = performance.now();
    const sentences = [];
    const text = await translator.translate(data.text, {}, (info) => sentences.push(info));
    self.postMessage({type: 'result', text, sentences, totalMs: performance.now() - start});
  } catch (e) {
    self.postMessage({type: 'error', message: String(e && e.message || e)});
  }
};
