#!/usr/bin/env node
// node web/translate.mjs --model DIR [--beam-size N] [--json] [--tool NAME]
//
// Translate stdin, one output line per input line, with a TFLite export on
// LiteRT.js (WASM, in Node). --json writes one JSON object per line
// (text, parts with their ms and smallest search gap). --tool runs a
// text-side function on each line instead (split, tokenize, normalize,
// mask, parts), for the tests that hold the JS text side to the Python one.

import readline from 'node:readline';
import {parseArgs} from 'node:util';

import {loadLiteRtNode, readExport} from './litert-node.mjs';
import {
  Tokenizer, Translator, checkConfig, maskNames, normalize, splitSentences, usablePlaceholders,
} from './seq2seq.mjs';

const USAGE = 'usage: node web/translate.mjs --model DIR [--beam-size N] [--beam-stop all|settled|best] ' +
  '[--no-repeat-ngram N] ' +
  '[--unk-penalty X] [--threads N] [--json] [--tool split|normalize|tokenize|mask|parts]';

function fail(message) {
  process.stderr.write(`translate.mjs: error: ${message}\n`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({options: {
    model: {type: 'string'}, 'beam-size': {type: 'string'}, 'beam-stop': {type: 'string'},
    'no-repeat-ngram': {type: 'string'},
    'unk-penalty': {type: 'string'}, threads: {type: 'string'}, json: {type: 'boolean'},
    tool: {type: 'string'}, verbose: {type: 'boolean'}, help: {type: 'boolean', short: 'h'},
  }}).values;
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
if (args.help) { process.stdout.write(USAGE + '\n'); process.exit(0); }
if (!args.model) fail(`--model is required\n${USAGE}`);

const changes = {};
if (args['beam-size']) changes.beam_size = Number(args['beam-size']);
if (args['beam-stop']) {
  if (!['all', 'settled', 'best'].includes(args['beam-stop'])) {
    fail(`--beam-stop must be all, settled or best, got ${args['beam-stop']}`);
  }
  changes.beam_stop = args['beam-stop'];
}
if (args['no-repeat-ngram']) changes.no_repeat_ngram = Number(args['no-repeat-ngram']);
if (args['unk-penalty']) changes.unk_penalty = Number(args['unk-penalty']);

let files;
try {
  files = readExport(args.model);
  checkConfig(files.config);
} catch (e) {
  fail(e.message);
}

// Created once the model is loaded: lines read before would be lost.
const readLines = () => readline.createInterface({input: process.stdin, crlfDelay: Infinity});
const write = (value) => process.stdout.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
// Lines are read as JSON strings with --tool (so any character, newlines
// included, survives the pipe), as text otherwise.
const input = (line) => (args.tool ? JSON.parse(line) : line);

if (args.tool) {
  const m = files.config.model;
  const source = new Tokenizer(files.sourceVocab.replace(/\n$/, '').split('\n'),
    {kind: m.tokenizer ?? 'word', lowercase: !!m.lowercase, language: files.config.source_language ?? 'en'});
  const target = new Tokenizer(files.targetVocab.replace(/\n$/, '').split('\n'),
    {kind: m.tokenizer ?? 'word', lowercase: !!m.lowercase, language: files.config.target_language ?? 'fr'});
  const placeholders = usablePlaceholders(source, target);
  const tools = {
    split: (text) => splitSentences(text),
    normalize: (text) => normalize(text, !!m.lowercase),
    tokenize: (text) => source.encode(text),
    mask: (text) => maskNames(text, source, placeholders),
  };
  if (!(args.tool in tools) && args.tool !== 'parts') fail(`unknown --tool ${args.tool}`);
  if (args.tool === 'parts') {
    const liteRt = await loadLiteRtNode({verbose: args.verbose});
    const translator = await Translator.load(liteRt, files);
    const d = translator.settings(changes);
    for await (const line of readLines()) write(translator.sentenceParts(input(line), d));
  } else {
    for await (const line of readLines()) write(JSON.stringify(tools[args.tool](input(line))));
  }
} else {
  const start = performance.now();
  const liteRt = await loadLiteRtNode({verbose: args.verbose});
  const translator = await Translator.load(liteRt, files,
    args.threads ? {numThreads: Number(args.threads)} : {});
  if (args.verbose) process.stderr.write(`loaded in ${(performance.now() - start).toFixed(0)} ms, ${translator.threads} thread(s)\n`);
  for await (const line of readLines()) {
    if (args.json) write(await translator.translateDetailed(line, changes));
    else write(await translator.translate(line, changes));
  }
}
