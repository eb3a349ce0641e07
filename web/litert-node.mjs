// LiteRT.js in Node: @litertjs/core loads its Emscripten build the browser's
// way (importScripts in a worker, a <script> tag in a page) and reads `self`;
// Node has neither, so this module gives it an `importScripts` that runs the
// script in this context, and the `require` and `__dirname` the Emscripten
// build's Node branch expects. Then the build loads its .wasm from the
// package's wasm/ folder with Node's fs. No network, no browser.
//
// Single-threaded: the threaded build spawns Web Workers for its pthreads.
// Node 20 ships relaxed SIMD behind --experimental-wasm-relaxed-simd (on by
// default from Node 22); without it LiteRT.js picks its "compat" build.

import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
/** The folder of LiteRT.js's .wasm and .js files. */
export const WASM_DIR = path.join(path.dirname(require.resolve('@litertjs/core/package.json')), 'wasm');

let loaded;

/**
 * Load LiteRT.js once; returns the @litertjs/core module.
 * @param {{verbose?: boolean}} [options] verbose: keep LiteRT's INFO lines on stderr.
 * @returns {Promise<any>}
 */
export function loadLiteRtNode({verbose = false} = {}) {
  if (!loaded) loaded = load(verbose);
  return loaded;
}

async function load(verbose) {
  globalThis.self ??= globalThis;
  globalThis.importScripts ??= (url) => {
    const file = String(url).startsWith('file:') ? fileURLToPath(url) : String(url);
    vm.runInThisContext(fs.readFileSync(file, 'utf8'), {filename: file});
  };
  globalThis.require ??= require;
  globalThis.__dirname ??= WASM_DIR;
  const quiet = (line) => verbose || !/^(INFO|WARNING): /.test(line);
  globalThis.Module = {
    locateFile: (file) => path.join(WASM_DIR, file),
    print: (line) => { if (quiet(line)) process.stderr.write(line + '\n'); },
    printErr: (line) => { if (quiet(line)) process.stderr.write(line + '\n'); },
  };
  const liteRt = await import('@litertjs/core');
  // Its default environment looks for a WebGPU device first (none in Node:
  // the WASM CPU runtime is what runs here); that warning is not news.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!verbose && String(args[0]).startsWith('Failed to create default WebGPU device')) return;
    warn(...args);
  };
  try {
    await liteRt.loadLiteRt(WASM_DIR + path.sep);
  } finally {
    console.warn = warn;
  }
  return liteRt;
}

/**
 * Read an export directory's files.
 * @param {string} directory
 * @returns {import('./seq2seq.mjs').ExportFiles}
 */
export function readExport(directory) {
  const configPath = path.join(directory, 'tflite_config.json');
  if (!fs.existsSync(configPath)) throw new Error(`Not a TFLite export: ${configPath} not found.`);
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  const kind = config.kind ?? 'translator';
  const modelFile = path.join(directory, kind === 'captioner' ? 'captioner.tflite' : 'model.tflite');
  if (kind !== 'translator') return {config, model: new Uint8Array(), sourceVocab: '', targetVocab: ''};
  return {
    config,
    model: new Uint8Array(fs.readFileSync(modelFile)),
    sourceVocab: fs.readFileSync(path.join(directory, 'source_vocab.txt'), 'utf8'),
    targetVocab: fs.readFileSync(path.join(directory, 'target_vocab.txt'), 'utf8'),
  };
}
