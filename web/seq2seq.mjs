// keras-seq2seq in JavaScript: the text side of a TFLite translator export
// (normalisation, sentence splitting, word pieces, source reversal, name
// placeholders, long-sentence splitting, greedy and beam search,
// detokenisation) and a runner over LiteRT.js. One module for the browser
// (page.mjs, worker.js) and Node (translate.mjs). The contract it follows is
// written down in web/SPEC.md; every function here mirrors a Python one named
// in its comment, and tests/test_web.py checks that they agree.
//
// Regular expressions: the Python side runs RE2 (TensorFlow's
// regex_replace). Two RE2 classes differ from JavaScript's and are spelt out
// here: RE2's \s is ASCII [\t\n\f\r ] (no \v, no Unicode spaces), and its \b
// is ASCII (as JavaScript's, also with the u flag).

/** Ids fixed by the project: 0 <pad>, 1 <unk>, 2 <start>, 3 <end>. */
export const PAD_ID = 0;
export const UNK_ID = 1;
export const START_ID = 2;
export const END_ID = 3;
export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<start>', '<end>'];

// ---------------------------------------------------------------------------
// Normalisation (keras_seq2seq/text/normalization.py).

const SPACES = /[\p{Z}\t\n\r\f\v\x1c-\x1f\x85]/gu;
const CONTROLS = /[\x00-\x08\x0e-\x1f\x7f-\x9f]/gu;
const APOSTROPHES = /[\u2018\u2019\u201b\u00b4`]/gu;
const HYPHENS = /[\u2010\u2011]/gu;
const SPACED_DASH = /(^| )-+( |$)/gu;
const PUNCTUATION = /([\p{P}\p{S}])/gu;

/**
 * Normalise one text: spaces and controls, apostrophes and hyphens, a
 * spaced hyphen becomes an en dash, punctuation and symbols split off.
 * @param {string} text
 * @param {boolean} [lowercase]
 * @returns {string}
 */
export function normalize(text, lowercase = false) {
  let t = text.toWellFormed ? text.toWellFormed() : text;
  t = t.replace(SPACES, ' ').replace(CONTROLS, '').replace(APOSTROPHES, "'")
    .replace(HYPHENS, '-').replace(SPACED_DASH, '$1\u2013$2');
  if (lowercase) t = t.toLowerCase();
  t = t.replace(PUNCTUATION, ' $1 ').replace(/ {2,}/g, ' ');
  return t.replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, '');
}

/**
 * Normalise and split into word tokens.
 * @param {string} text
 * @param {boolean} [lowercase]
 * @returns {string[]}
 */
export function splitWords(text, lowercase = false) {
  return normalize(text, lowercase).split(/[\t\n\v\f\r ]+/).filter((w) => w);
}

const COMMON_RULES = [
  [/ ?- ?/gu, '-'],
  [/ \/ /gu, '/'],
  [/([(\[{$]) /gu, '$1'],
  [/ ([)\]}])/gu, '$1'],
  [/ ([.,…%])/gu, '$1'],
  [/([0-9])([.,]) ([0-9])/gu, '$1$2$3'],
];
const ENGLISH_RULES = [
  [/ ([!?:;])/gu, '$1'],
  [/([^ ]) ' (s|t|re|ve|ll|d|m)([^\p{L}]|$)/gu, "$1'$2$3"],
  [/ '( |$)/gu, "'$1"],
  [/^' /gu, "'"],
];
const FRENCH_RULES = [[/ ?' ?/gu, "'"]];

/**
 * Join word tokens into text with the language's typography.
 * @param {string[]} tokens
 * @param {string} [language] "fr" or anything else (English spacing).
 * @returns {string}
 */
export function detokenizeWords(tokens, language = 'en') {
  let text = tokens.join(' ');
  for (const [pattern, rewrite] of COMMON_RULES.concat(language === 'fr' ? FRENCH_RULES : ENGLISH_RULES)) {
    text = text.replace(pattern, rewrite);
  }
  return text;
}

// ---------------------------------------------------------------------------
// Sentence splitting (keras_seq2seq/text/sentences.py).

const TITLES = [
  'Mr', 'Mrs', 'Ms', 'Messrs', 'Dr', 'Prof', 'St', 'Mt', 'Ft', 'Sr', 'Jr', 'Gen', 'Col',
  'Capt', 'Lt', 'Sgt', 'Rev', 'Hon', 'Gov', 'Sen', 'Rep', 'Pres', 'Supt', 'Mme', 'Mlle',
  'e.g', 'i.e', 'viz', 'vs', 'cf', 'approx', 'ca', 'Fig', 'fig', 'Vol', 'vol', 'pp', 'Ave',
  'Blvd', 'Jan', 'Feb', 'Mar', 'Apr', 'Jun', 'Jul', 'Aug', 'Sep', 'Sept', 'Oct', 'Nov', 'Dec',
];
const ABBREVIATIONS = ['etc', 'Inc', 'Ltd', 'Co', 'Corp', 'esp', 'min', 'max', 'dept', 'est'];
const NUMBER_ABBREVIATIONS = ['No', 'no', 'Nos', 'Nr', 'Art', 'p', 'pp'];
const MARK = '\x1f';
const CLOSERS = '"\'”’»)\\]';
const OPENERS = '"“‘«(\\[';
// RE2's \s and \S.
const WS = '[\\t\\n\\f\\r ]';
const NWS = '[^\\t\\n\\f\\r ]';

const escapeRe = (w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alternatives = (words) => words.map(escapeRe).join('|');

const SPLIT_RULES = (() => {
  const m = MARK;
  const gap = `${m}([\\t\\f\\r ]+)${m}`; // RE2's [^\S\n]+
  const notCapital = `([^A-Z0-9${OPENERS}])`;
  const re = (source) => new RegExp(source, 'gu');
  return {
    boundary: re(`([.!?]+[${CLOSERS}]*)(${WS}+)`),
    lineBreak: re(`([^\\t\\n\\f\\r ${m}])(${WS}*\\n${WS}*)`),
    titles: re(`\\b(${alternatives(TITLES)})\\.${gap}`),
    numbers: re(`\\b(${alternatives(NUMBER_ABBREVIATIONS)})\\.${gap}([0-9])`),
    ellipses: re(`(\\.\\.\\.[${CLOSERS}]*)${gap}`),
    initials: re(`(^|[\\t\\n\\f\\r ${OPENERS}])([A-Za-z])\\.${gap}`),
    abbreviations: re(`\\b(${alternatives(ABBREVIATIONS)}|(?:[A-Za-z]\\.)+[A-Za-z])\\.${gap}${notCapital}`),
    closers: re(`([.!?][${CLOSERS}]+)${gap}${notCapital}`),
  };
})();

/**
 * Split a text into pieces: separators at even positions, sentences at odd
 * ones; joining them gives the text back (controls other than tab and
 * newline become spaces).
 * @param {string} text
 * @returns {string[]}
 */
export function splitSentences(text) {
  let t = text.toWellFormed ? text.toWellFormed() : text;
  t = t.replace(/[\x00-\x08\x0b-\x1f\x7f]/gu, ' ');
  const lead = t.match(/^[\t\n\f\r ]*/u)[0];
  const core = t.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/gu, '');
  const trail = core === '' ? '' : t.match(/[\t\n\f\r ]*$/u)[0];
  const m = MARK;
  const r = SPLIT_RULES;
  let s = core.replace(r.boundary, `$1${m}$2${m}`);
  s = s.replace(r.lineBreak, `$1${m}$2${m}`);
  s = s.replace(r.titles, '$1.$2');
  s = s.replace(r.numbers, '$1.$2$3');
  s = s.replace(r.ellipses, '$1$2');
  for (let i = 0; i < 2; i++) s = s.replace(r.initials, '$1$2.$3');
  s = s.replace(r.abbreviations, '$1.$2$3');
  s = s.replace(r.closers, '$1$2$3');
  return [lead, ...s.split(m), trail];
}

/**
 * Put translated sentences back between the input's own separators.
 * @param {string[]} pieces
 * @param {string[]} translations
 * @returns {string}
 */
export function joinTranslations(pieces, translations) {
  if (!pieces.some((p, i) => i % 2 === 1 && p)) return '';
  const out = pieces.slice();
  translations.forEach((t, i) => { out[2 * i + 1] = t; });
  return out.join('');
}

// ---------------------------------------------------------------------------
// Tokenizers (keras_seq2seq/text/word_tokenizer.py, wordpiece.py).

const SUFFIX = '##';
const MAX_PIECES_PER_WORD = 64;

/** A word-level or word-piece tokenizer over a vocabulary file's lines. */
export class Tokenizer {
  /**
   * @param {string[]} vocabulary Starts with the four special tokens.
   * @param {{kind?: 'word'|'wordpiece', lowercase?: boolean, language?: string}} [options]
   */
  constructor(vocabulary, {kind = 'wordpiece', lowercase = false, language = 'en'} = {}) {
    if (SPECIAL_TOKENS.some((t, i) => vocabulary[i] !== t)) {
      throw new Error(`A vocabulary starts with ${SPECIAL_TOKENS.join(', ')}.`);
    }
    if (kind !== 'word' && kind !== 'wordpiece') {
      throw new Error(`Unknown tokenizer ${JSON.stringify(kind)}: 'word' or 'wordpiece'.`);
    }
    this.vocabulary = vocabulary;
    this.kind = kind;
    this.lowercase = lowercase;
    this.language = language;
    /** @type {Map<string, number>} */
    this.ids = new Map();
    vocabulary.forEach((t, i) => { if (!this.ids.has(t)) this.ids.set(t, i); });
    this.maxPieceChars = 0;
    for (const t of vocabulary.slice(SPECIAL_TOKENS.length)) {
      const bare = t.startsWith(SUFFIX) ? t.slice(SUFFIX.length) : t;
      this.maxPieceChars = Math.max(this.maxPieceChars, [...bare].length);
    }
  }

  /**
   * One word's piece ids: greedy longest match first, in code points; a
   * word that cannot be cut, or needs more than 64 pieces, is one <unk>.
   * @param {string} word
   * @returns {number[]}
   */
  segment(word) {
    if (this.kind === 'word') return [this.ids.get(word) ?? UNK_ID];
    const chars = [...word];
    const pieces = [];
    let start = 0;
    while (start < chars.length) {
      if (pieces.length >= MAX_PIECES_PER_WORD) return [UNK_ID];
      let found = -1;
      let size = Math.min(this.maxPieceChars, chars.length - start);
      for (; size > 0; size--) {
        const candidate = (start > 0 ? SUFFIX : '') + chars.slice(start, start + size).join('');
        const id = this.ids.get(candidate);
        if (id !== undefined) { found = id; break; }
      }
      if (found < 0) return [UNK_ID];
      pieces.push(found);
      start += size;
    }
    return pieces;
  }

  /**
   * Text -> ids, no special tokens.
   * @param {string} text
   * @returns {number[]}
   */
  encode(text) {
    return splitWords(text, this.lowercase).flatMap((w) => this.segment(w));
  }

  /**
   * Text -> piece strings.
   * @param {string} text
   * @returns {string[]}
   */
  tokenize(text) {
    return this.encode(text).map((i) => this.vocabulary[i]);
  }

  /**
   * Ids -> text: cut at the first <end>, <pad> and <start> dropped, pieces
   * joined, the language's typography.
   * @param {ArrayLike<number>} ids
   * @returns {string}
   */
  decode(ids) {
    const tokens = [];
    for (const id of ids) {
      if (id === END_ID) break;
      if (id !== PAD_ID && id !== START_ID) tokens.push(this.vocabulary[id]);
    }
    if (this.kind === 'word') return detokenizeWords(tokens, this.language);
    const text = tokens.join(' ').replaceAll(' ' + SUFFIX, '').replace(/^##/, '');
    return detokenizeWords(text.split(/[\t\n\v\f\r ]+/).filter((w) => w), this.language);
  }
}

// ---------------------------------------------------------------------------
// Name placeholders (keras_seq2seq/text/placeholders.py).

export const PLACEHOLDERS = ['Tom', 'Boston', 'Mary', 'John', 'Alice', 'Jack', 'Emma', 'Bob', 'Jane'];
const ATTEMPTS = 2;
const MIN_PIECES = 3;
// Never masked: English day and month names, also in the plural
// (CALENDAR_WORDS in keras_seq2seq/text/placeholders.py).
const CALENDAR = new RegExp('^(?:' + ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
  'Saturday', 'Sunday', 'January', 'February', 'March', 'April', 'May', 'June', 'July',
  'August', 'September', 'October', 'November', 'December'].join('|') + ')s?$', 'i');
const whitespaceSplit = (s) => s.split(/[\t\n\v\f\r ]+/).filter((w) => w);

/**
 * The placeholder names that both vocabularies hold as one token.
 * @param {Tokenizer} source
 * @param {Tokenizer} target
 * @returns {string[]}
 */
export function usablePlaceholders(source, target) {
  return PLACEHOLDERS.filter((name) => [source, target].every((tok) => {
    const ids = tok.encode(name);
    return ids.length === 1 && ids[0] !== UNK_ID;
  }));
}

/**
 * @typedef {{masked: string, used: boolean[], words: string[]}} Masked
 */

/**
 * Replace the rare names of a sentence by placeholders.
 * @param {string} sentence
 * @param {Tokenizer} source
 * @param {string[]} placeholders
 * @param {number} [offset]
 * @returns {Masked}
 */
export function maskNames(sentence, source, placeholders, offset = 0) {
  const tokens = whitespaceSplit(sentence);
  const parts = tokens.map((token, position) => {
    const match = token.match(/^(\P{L}*)(\p{L}+)([\s\S]*)$/u);
    if (!match) return {prefix: token, word: '', suffix: '', candidate: false};
    const [, prefix, word, suffix] = match;
    const pieces = source.encode(word);
    const rare = pieces.length >= MIN_PIECES || pieces.includes(UNK_ID);
    const candidate = /^\p{Lu}\p{L}+$/u.test(word) && rare && position > 0 &&
      !CALENDAR.test(word);
    return {prefix, word, suffix, candidate};
  });
  const free = placeholders.map((name) => !parts.some((p) => p.word === name));
  const freeIndices = free.flatMap((f, i) => (f ? [i] : []));
  const used = placeholders.map(() => false);
  const words = placeholders.map(() => '');
  let rank = 0;
  const out = parts.map((p, i) => {
    if (!p.candidate) return tokens[i];
    const r = rank++;
    if (r >= freeIndices.length) return tokens[i];
    const choice = freeIndices[(r + offset) % Math.max(freeIndices.length, 1)];
    used[choice] = true;
    words[choice] += p.word;
    return p.prefix + placeholders[choice] + p.suffix;
  });
  return {masked: out.join(' '), used, words};
}

/**
 * Put the names back; null when a used placeholder is missing, repeated or
 * inside a longer word.
 * @param {string} translation
 * @param {Masked} masked
 * @param {string[]} placeholders
 * @returns {string|null}
 */
export function restoreNames(translation, {used, words}, placeholders) {
  let text = translation;
  let ok = true;
  placeholders.forEach((name, index) => {
    const parts = text.split(name);
    const alone = parts.length === 2 && !/\p{L}$/u.test(parts[0]) && !/^\p{L}/u.test(parts[1]);
    if (used[index] && !alone) ok = false;
    if (used[index] && alone) text = parts[0] + `\x01${index}\x01` + parts[1];
  });
  if (!ok) return null;
  placeholders.forEach((_, index) => {
    if (used[index]) text = text.replace(`\x01${index}\x01`, () => words[index]);
  });
  return text;
}

// ---------------------------------------------------------------------------
// Long sentences (keras_seq2seq/text/long_sentences.py).

const CONJUNCTIONS = new Set([
  'and', 'but', 'or', 'nor', 'so', 'yet', 'because', 'although', 'though', 'while',
  'whereas', 'which', 'who', 'whom', 'whose', 'where', 'when', 'whenever', 'unless',
  'until', 'since', 'if', 'then',
]);

/**
 * The source-piece limit above which a sentence is split: the encoder's
 * input limit, and two thirds of the output cap (a French translation runs
 * about 1.2 pieces per English piece).
 * @param {number} inputLimit
 * @param {number} maxOutputTokens
 * @returns {number}
 */
export function longSentenceLimit(inputLimit, maxOutputTokens) {
  return Math.max(1, Math.min(inputLimit, Math.floor((2 * maxOutputTokens) / 3)));
}

/**
 * Cut a sentence whose pieces exceed `limit` into parts that fit: at the
 * clause boundary nearest the middle (after , ; : or a dash, before a
 * conjunction), recursively; where there is none, at the limit. Cuts fall
 * between whitespace-separated tokens; the parts, joined with single
 * spaces, are the sentence's tokens.
 * @param {string} sentence
 * @param {(word: string) => number} countPieces
 * @param {number} limit
 * @param {number} [maxPieces] The settings' max_input_tokens: tokens past
 *   this many pieces are left out first (the bound on one input's work).
 * @returns {string[]}
 */
export function splitLongSentence(sentence, countPieces, limit, maxPieces = Infinity) {
  let tokens = whitespaceSplit(sentence);
  if (tokens.length < 2) return [sentence];
  let counts = tokens.map(countPieces);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= limit) return [sentence];
  let kept = 0;
  for (let sum = 0; kept < tokens.length && sum + counts[kept] <= maxPieces; kept++) sum += counts[kept];
  tokens = tokens.slice(0, Math.max(kept, 1));
  counts = counts.slice(0, Math.max(kept, 1));
  const parts = [];
  cut(0, tokens.length);
  return parts;

  function cut(begin, end) {
    let sum = 0;
    for (let i = begin; i < end; i++) sum += counts[i];
    if (sum <= limit || end - begin < 2) { parts.push(tokens.slice(begin, end).join(' ')); return; }
    let best = -1;
    let bestDistance = Infinity;
    let left = 0;
    for (let i = begin + 1; i < end; i++) { // cut before token i
      left += counts[i - 1];
      const previous = tokens[i - 1];
      const next = tokens[i].toLowerCase().replace(/^\P{L}+|\P{L}+$/gu, '');
      if (/[,;:\u2013\u2014]$/u.test(previous) || previous === '-' || CONJUNCTIONS.has(next)) {
        const distance = Math.abs(2 * left - sum);
        if (distance < bestDistance) { best = i; bestDistance = distance; }
      }
    }
    if (best < 0) { // no clause boundary: the longest prefix that fits
      let fit = 0;
      best = begin + 1;
      for (let i = begin; i < end - 1; i++) {
        fit += counts[i];
        if (fit > limit) break;
        best = i + 1;
      }
    }
    cut(begin, best);
    cut(best, end);
  }
}

// ---------------------------------------------------------------------------
// Searches (keras_seq2seq/decoding/greedy.py, beam.py, penalties.py), over a
// step function `step(tokens, states) -> {logProbs: Float32Array[], states}`,
// one row per hypothesis. Arithmetic in float32 (Math.fround) as TensorFlow's.

const NEG_INF = -1e9;
const FORBID = 1e9;
const f32 = Math.fround;

/**
 * GNMT length penalty ((5 + len) / 6) ** alpha, in float32.
 * @param {number} length
 * @param {number} alpha
 */
export function lengthPenalty(length, alpha) {
  return f32(Math.pow(f32((5 + length) / 6), alpha));
}

/**
 * log_softmax of one row of logits, in float32.
 * @param {Float32Array} logits
 * @returns {Float32Array}
 */
export function logSoftmax(logits) {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const logSum = Math.log(sum);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - max - logSum;
  return out;
}

/**
 * Forbid the tokens that would repeat an n-gram of `history` (in place).
 * @param {Float32Array} logProbs
 * @param {number[]} history
 * @param {number} n
 */
export function blockRepeatedNgrams(logProbs, history, n) {
  if (n < 2 || history.length < n - 1) return;
  const last = history.slice(history.length - n + 1);
  for (let j = 0; j + n - 1 < history.length; j++) {
    let same = true;
    for (let k = 0; k < n - 1; k++) if (history[j + k] !== last[k]) { same = false; break; }
    if (same) logProbs[history[j + n - 1]] = -FORBID;
  }
}

/**
 * @typedef {{beamSize: number, alpha: number, beamStop?: string, unkPenalty: number, noRepeatNgram: number}} SearchSettings
 * @typedef {(tokens: number[], states: any[]) => Promise<{logProbs: Float32Array[], states: any[]}>} StepFn
 */

function adjust(logProbs, history, settings) {
  if (settings.unkPenalty) {
    const penalty = Math.max(Math.min(settings.unkPenalty, FORBID), -FORBID);
    logProbs[UNK_ID] = f32(logProbs[UNK_ID] - penalty);
  }
  if (settings.noRepeatNgram) blockRepeatedNgrams(logProbs, history, settings.noRepeatNgram);
}

/**
 * Greedy search for one sentence.
 * @param {StepFn} step
 * @param {any} state The encoder's state (one hypothesis).
 * @param {number} maxLength
 * @param {SearchSettings} settings
 * @returns {Promise<{tokens: number[], score: number, gaps: number[]}>}
 *   `gaps`: per step, the log-probability gap between the best token and the next.
 */
export async function greedySearch(step, state, maxLength, settings) {
  const tokens = [];
  const gaps = [];
  let score = 0;
  let token = START_ID;
  let states = [state];
  for (let t = 0; t < Math.max(maxLength, 1); t++) {
    const out = await step([token], states);
    const logProbs = out.logProbs[0];
    adjust(logProbs, tokens, settings);
    let best = 0;
    let second = -Infinity;
    for (let i = 1; i < logProbs.length; i++) {
      if (logProbs[i] > logProbs[best]) { second = logProbs[best]; best = i; } else if (logProbs[i] > second) second = logProbs[i];
    }
    gaps.push(logProbs[best] - second);
    score = f32(score + logProbs[best]);
    tokens.push(best);
    states = out.states;
    token = best;
    if (best === END_ID) break;
  }
  return {tokens, score, gaps};
}

/**
 * Beam search for one sentence, as the project's: GNMT normalisation, a
 * finished hypothesis keeps its slot and score, ties to the lower index,
 * done by `settings.beamStop` ('all', 'settled' or 'best').
 * @param {StepFn} step
 * @param {any} state The encoder's state (one hypothesis).
 * @param {number} maxLength
 * @param {SearchSettings} settings
 * @returns {Promise<{tokens: number[], score: number, hypotheses: {tokens: number[], score: number}[], gaps: number[]}>}
 *   `gaps`: per step, the normalised-score gap between the last kept
 *   candidate and the first dropped one (a near-tie when tiny).
 */
export async function beamSearch(step, state, maxLength, settings) {
  const k = settings.beamSize;
  const alpha = settings.alpha;
  const limit = Math.max(maxLength, 1);
  let logProbs = Array.from({length: k}, (_, i) => (i === 0 ? 0 : NEG_INF));
  let lengths = new Array(k).fill(0);
  let finished = new Array(k).fill(false);
  let sequences = Array.from({length: k}, () => []);
  let tokens = new Array(k).fill(START_ID);
  let states = new Array(k).fill(state);
  const gaps = [];
  // Done (keras_seq2seq/decoding/beam.py, `stop`): 'all' when every hypothesis
  // is finished, 'best' when the best one (the first: they are kept sorted) is,
  // 'settled' when every hypothesis is finished or no live one can overtake
  // the best finished one (beam.py, `_settled`: a live sum of log-probabilities
  // only falls, and its penalty is largest at the length limit).
  const settled = () => {
    let bestFinished = -Infinity;
    let bestLive = -Infinity;
    for (let i = 0; i < k; i++) {
      const score = f32(logProbs[i] / lengthPenalty(lengths[i], alpha));
      if (finished[i]) bestFinished = Math.max(bestFinished, score);
      else bestLive = Math.max(bestLive, score, f32(logProbs[i] / lengthPenalty(limit, alpha)));
    }
    return bestFinished > bestLive;
  };
  const done = () => {
    if (settings.beamStop === 'best') return finished[0];
    // A bonus for <unk> (a negative penalty) could lift a live one: no ceiling.
    const ceiling = settings.beamStop === 'settled' && !(settings.unkPenalty < 0);
    return finished.every((f) => f) || (ceiling && settled());
  };
  for (let t = 0; t < limit && !done(); t++) {
    // Live rows only: finished rows continue with <pad> at no cost, and at
    // the first step every row is the same.
    const live = [];
    for (let i = 0; i < k; i++) if (!finished[i] && (t > 0 || i === 0)) live.push(i);
    const out = await step(live.map((i) => tokens[i]), live.map((i) => states[i]));
    const rowLogProbs = new Array(k);
    const rowStates = new Array(k);
    live.forEach((i, j) => { rowLogProbs[i] = out.logProbs[j]; rowStates[i] = out.states[j]; });
    // The k + 1 best (row, token) by normalised score, ties to the lower flat index.
    const top = []; // {score, row, token, total}
    const keep = k + 1;
    const consider = (score, row, token, total) => {
      if (top.length === keep && !(score > top[keep - 1].score)) return;
      let at = top.length;
      while (at > 0 && score > top[at - 1].score) at--;
      top.splice(at, 0, {score, row, token, total});
      if (top.length > keep) top.pop();
    };
    for (let i = 0; i < k; i++) {
      if (t === 0 && i > 0) continue; // at -1e9: never chosen while row 0 has candidates
      const newLength = lengths[i] + (finished[i] ? 0 : 1);
      const penalty = lengthPenalty(newLength, alpha);
      if (finished[i]) {
        const total = f32(logProbs[i] + 0);
        consider(f32(total / penalty), i, PAD_ID, total);
        const other = f32(logProbs[i] + NEG_INF);
        consider(f32(other / penalty), i, 1, other); // the best of the forbidden tokens
        continue;
      }
      const row = rowLogProbs[i];
      adjust(row, sequences[i], settings);
      const base = logProbs[i];
      // Only candidates that can enter the top: skip quickly.
      for (let v = 0; v < row.length; v++) {
        const total = f32(base + row[v]);
        const score = f32(total / penalty);
        if (top.length === keep && !(score > top[keep - 1].score)) continue;
        consider(score, i, v, total);
      }
    }
    let gap = Infinity;
    for (let j = 0; j + 1 < top.length; j++) gap = Math.min(gap, top[j].score - top[j + 1].score);
    gaps.push(gap);
    const chosen = top.slice(0, k);
    const next = chosen.map((c) => ({
      logProb: c.total,
      length: lengths[c.row] + (finished[c.row] ? 0 : 1),
      wasFinished: finished[c.row],
      sequence: sequences[c.row].concat([c.token]),
      state: rowStates[c.row] ?? states[c.row],
      token: c.token,
    }));
    logProbs = next.map((n) => n.logProb);
    lengths = next.map((n) => n.length);
    sequences = next.map((n) => n.sequence);
    states = next.map((n) => n.state);
    tokens = next.map((n) => n.token);
    finished = next.map((n) => n.wasFinished || n.token === END_ID || t + 1 >= limit);
  }
  const hypotheses = sequences.map((s, i) => ({tokens: s, score: f32(logProbs[i] / lengthPenalty(lengths[i], alpha))}));
  if (k > 1) gaps.push(hypotheses[0].score - hypotheses[1].score);
  return {tokens: hypotheses[0].tokens, score: hypotheses[0].score, hypotheses, gaps};
}

// ---------------------------------------------------------------------------
// The runner over LiteRT.js (keras_seq2seq/export/runner.py TFLiteTranslator).

/**
 * @typedef {object} ExportFiles
 * @property {Uint8Array} model model.tflite's bytes.
 * @property {string} sourceVocab source_vocab.txt's text.
 * @property {string} targetVocab target_vocab.txt's text.
 * @property {object} config tflite_config.json, parsed.
 */

/** The files of an export directory (a URL or path prefix) read by `read`. */
export const EXPORT_FILES = ['tflite_config.json', 'model.tflite', 'source_vocab.txt', 'target_vocab.txt'];

const DEFAULT_DECODING = {
  beam_size: 5, alpha: 0.6, beam_stop: 'settled', unk_penalty: 0, no_repeat_ngram: 0,
  split_sentences: true,
  protect_names: null, max_input_tokens: 200, max_output_tokens: 100, length_ratio: 2.0,
  length_offset: 10,
};

/**
 * Check a parsed tflite_config.json: a translator export, or a clear error.
 * @param {any} config
 */
export function checkConfig(config) {
  const kind = config.kind ?? 'translator';
  if (kind !== 'translator') {
    throw new Error(`This export holds a TFLite ${kind}, not a translator: the web runner ` +
      `translates text (a captioner's export runs in Python with TFLiteCaptioner).`);
  }
  for (const key of ['model', 'max_source_tokens']) {
    if (!(key in config)) throw new Error(`tflite_config.json has no "${key}": not a keras-seq2seq TFLite export.`);
  }
}

const vocabularyLines = (text) => text.replace(/\n$/, '').split('\n');

/** A TFLite translator export on LiteRT.js. */
export class Translator {
  /**
   * @param {any} liteRt The @litertjs/core module, after loadLiteRt.
   * @param {ExportFiles} files
   * @param {{numThreads?: number}} [options]
   */
  static async load(liteRt, files, options = {}) {
    checkConfig(files.config);
    const compileOptions = {accelerator: 'wasm'};
    if (options.numThreads) compileOptions.cpuOptions = {numThreads: options.numThreads};
    const model = await liteRt.loadAndCompile(files.model, compileOptions);
    return new Translator(liteRt, model, files);
  }

  /** @private */
  constructor(liteRt, model, files) {
    const config = files.config;
    this.liteRt = liteRt;
    this.model = model;
    this.config = config;
    const m = config.model;
    this.modelConfig = m;
    /** Whether the step's "logits" are log-probabilities already (copy attention). */
    this.copyAttention = !!m.copy_attention;
    this.maxSourceTokens = config.max_source_tokens;
    /** The decoding settings the model was exported with (tflite_config.json's "decoding"). */
    this.decoding = {...DEFAULT_DECODING, ...(config.decoding ?? {})};
    const kind = m.tokenizer ?? 'word';
    this.sourceTokenizer = new Tokenizer(vocabularyLines(files.sourceVocab),
      {kind, lowercase: !!m.lowercase, language: config.source_language ?? 'en'});
    this.targetTokenizer = new Tokenizer(vocabularyLines(files.targetVocab),
      {kind, lowercase: !!m.lowercase, language: config.target_language ?? 'fr'});
    this.placeholders = usablePlaceholders(this.sourceTokenizer, this.targetTokenizer);
    const signatures = model.signatures;
    for (const name of ['encode', 'decode_step']) {
      if (!(name in signatures)) throw new Error(`model.tflite has no "${name}" signature.`);
    }
    this.encodeRunner = signatures.encode;
    this.stepRunner = signatures.decode_step;
    this.stateNames = this.stepRunner.getOutputDetails().map((d) => d.name).filter((n) => n.startsWith('state_'));
    this.memoryNames = this.stepRunner.getInputDetails().map((d) => d.name)
      .filter((n) => n !== 'token' && !n.startsWith('state_'));
    this.stepInputs = this.stepRunner.getInputDetails();
    this.stepOutputs = this.stepRunner.getOutputDetails();
    /** Calls of decode_step, for the figures. */
    this.stepCalls = 0;
  }

  /** Threads of the WASM runtime. */
  get threads() {
    return this.liteRt.getGlobalLiteRt().liteRtWasm.getThreadCount();
  }

  /**
   * The decoding settings of one call: the export's, with `changes`.
   * @param {object} [changes] DecodingConfig fields (snake_case).
   */
  settings(changes = {}) {
    const d = {...this.decoding, ...changes};
    if (d.protect_names === null || d.protect_names === undefined) d.protect_names = this.placeholders.length > 0;
    return d;
  }

  /**
   * Source text -> the encoder's row: ids cut to the limit, reversed when
   * the model reads reversed, zero-padded to max_source_tokens.
   * @param {string} text
   * @param {object} d settings
   * @returns {{row: Int32Array, length: number}}
   */
  encoderRow(text, d) {
    const limit = Math.min(d.max_input_tokens, this.maxSourceTokens);
    let ids = this.sourceTokenizer.encode(text).slice(0, limit);
    if (this.modelConfig.reverse_source) ids = ids.reverse();
    const row = new Int32Array(this.maxSourceTokens);
    row.set(ids);
    return {row, length: ids.length};
  }

  /** Run a signature whose inputs may have a dynamic batch (LiteRT.js checks
   * input shapes against the signature's, -1 included, so the check is
   * skipped and the compiled model is called with batch-1 buffers). */
  async runSignature(runner, inputs) {
    const buffers = runner.getInputDetails().map((d) => inputs[d.name].liteRtTensorBuffer);
    const outputs = await runner.liteRtCompiledModel.run(runner.signatureIndex, buffers);
    const result = {};
    runner.getOutputDetails().forEach((d, i) => {
      const tensor = new this.liteRt.Tensor(outputs[i]);
      result[d.name] = tensor.toTypedArray().slice();
      tensor.delete();
    });
    return result;
  }

  /**
   * Encode one sentence: its decoder state and attention memory (as tensors
   * kept for every step of the search).
   * @param {Int32Array} row
   */
  async encode(row) {
    const input = new this.liteRt.Tensor(row, [1, this.maxSourceTokens]);
    let out;
    try {
      out = await this.runSignature(this.encodeRunner, {encoder_tokens: input});
    } finally {
      input.delete();
    }
    const memory = {};
    for (const d of this.stepInputs) {
      if (this.memoryNames.includes(d.name)) {
        memory[d.name] = new this.liteRt.Tensor(out[d.name], [1, ...Array.from(d.shape).slice(1)]);
      }
    }
    return {states: this.stateNames.map((n) => out[n]), memory};
  }

  /** A step function over one sentence's memory, one decode_step call per row. */
  stepFunction(memory) {
    const units = this.modelConfig.units;
    return async (tokens, states) => {
      const logProbs = [];
      const newStates = [];
      for (let r = 0; r < tokens.length; r++) {
        const inputs = {...memory, token: new this.liteRt.Tensor(new Int32Array([tokens[r]]), [1])};
        const owned = [inputs.token];
        this.stateNames.forEach((name, i) => {
          inputs[name] = new this.liteRt.Tensor(states[r][i], [1, states[r][i].length / 1]);
          owned.push(inputs[name]);
        });
        let out;
        try {
          out = await this.runSignature(this.stepRunner, inputs);
        } finally {
          for (const t of owned) t.delete();
        }
        this.stepCalls++;
        // A copy-attention model's step already gives log-probabilities.
        logProbs.push(this.copyAttention ? out.logits : logSoftmax(out.logits));
        newStates.push(this.stateNames.map((n) => out[n]));
      }
      void units;
      return {logProbs, states: newStates};
    };
  }

  /**
   * Translate one sentence (already split), names not protected.
   * @param {string} sentence
   * @param {object} d settings
   * @returns {Promise<{text: string, tokens: number[], score: number, gaps: number[]}>}
   */
  async translateSentence(sentence, d) {
    const {row, length} = this.encoderRow(sentence, d);
    if (length === 0) return {text: '', tokens: [], score: 0, gaps: []};
    const {states, memory} = await this.encode(row);
    try {
      const maxLength = Math.min(Math.trunc(f32(d.length_ratio * length)) + d.length_offset, d.max_output_tokens);
      const search = {beamSize: d.beam_size, alpha: d.alpha, beamStop: d.beam_stop,
        unkPenalty: d.unk_penalty, noRepeatNgram: d.no_repeat_ngram};
      const step = this.stepFunction(memory);
      const result = d.beam_size === 1
        ? await greedySearch(step, states, maxLength, search)
        : await beamSearch(step, states, maxLength, search);
      return {text: this.targetTokenizer.decode(result.tokens), tokens: result.tokens, score: result.score, gaps: result.gaps};
    } finally {
      for (const t of Object.values(memory)) t.delete();
    }
  }

  /**
   * One sentence with its rare names protected (as the Python Decoder:
   * masked from the first placeholder, then the next, then as it is).
   * @param {string} sentence
   * @param {object} d settings
   */
  async translateProtected(sentence, d) {
    if (!d.protect_names || this.placeholders.length === 0) return this.translateSentence(sentence, d);
    const attempts = Math.min(ATTEMPTS, this.placeholders.length);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const masked = maskNames(sentence, this.sourceTokenizer, this.placeholders, attempt);
      const result = await this.translateSentence(masked.masked, d);
      const restored = restoreNames(result.text, masked, this.placeholders);
      if (restored !== null) return {...result, text: restored};
    }
    return this.translateSentence(sentence, d);
  }

  /**
   * The parts a sentence is translated in: itself, or, over the limits,
   * its clauses (splitLongSentence).
   * @param {string} sentence
   * @param {object} d settings
   * @returns {string[]}
   */
  sentenceParts(sentence, d) {
    const limit = longSentenceLimit(Math.min(d.max_input_tokens, this.maxSourceTokens), d.max_output_tokens);
    if ([...sentence].length <= limit) return [sentence]; // a piece covers a character at least
    return splitLongSentence(sentence, (w) => this.sourceTokenizer.encode(w).length, limit, d.max_input_tokens);
  }

  /**
   * Translate a text (sentences split, long ones cut, names protected).
   * @param {string} text
   * @param {object} [changes] DecodingConfig fields for this call.
   * @param {(info: {sentence: string, ms: number}) => void} [onSentence]
   * @returns {Promise<string>}
   */
  async translate(text, changes = {}, onSentence = undefined) {
    return (await this.translateDetailed(text, changes, onSentence)).text;
  }

  /**
   * `translate`, with each part's translation, time and smallest search gap
   * (`minGap`: how near a tie its closest decision was).
   * @param {string} text
   * @param {object} [changes]
   * @param {(info: {sentence: string, ms: number}) => void} [onSentence]
   * @returns {Promise<{text: string, parts: {source: string, text: string, ms: number, minGap: number}[]}>}
   */
  async translateDetailed(text, changes = {}, onSentence = undefined) {
    const d = this.settings(changes);
    const pieces = d.split_sentences ? splitSentences(text) : ['', text, ''];
    const translations = [];
    const details = [];
    for (let i = 1; i < pieces.length; i += 2) {
      const parts = this.sentenceParts(pieces[i], d);
      const outputs = [];
      for (const part of parts) {
        const start = performance.now();
        const result = await this.translateProtected(part, d);
        const ms = performance.now() - start;
        outputs.push(result.text);
        details.push({source: part, text: result.text, ms, minGap: Math.min(Infinity, ...result.gaps)});
        if (onSentence) onSentence({sentence: part, ms});
      }
      translations.push(outputs.join(' '));
    }
    return {text: joinTranslations(pieces, translations), parts: details};
  }

  /** Free the compiled model. */
  delete() {
    this.model.delete();
  }
}
