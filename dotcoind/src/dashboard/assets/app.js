/* dotcoin node dashboard — plain ES2020, no build step, no dependencies.
 *
 * Data comes from the node's JSON API (api/…) and changes from its server-sent event
 * stream (api/events). An event never carries what a view shows: it only marks views
 * stale, and stale views re-fetch, at most once per REFRESH_MS (see invalidate()). The
 * page never polls.
 *
 * Views are chosen by the URL hash: #/ (overview), #/block/<hash|height>, #/tx/<txid>,
 * #/address/<address>.
 *
 * Everything from the node (and so from its peers: addresses, ban reasons, URLs) is put in
 * the page as text through h()/s(), never as HTML.
 */
'use strict';

const TOKEN_KEY = 'dotcoin.token';      // sessionStorage: the action token from ?token=
const MINE_TO_KEY = 'dotcoin.mineTo';   // localStorage: last "mine to" address (public data)
const TREE_DEPTH = 60;
const ACTIVITY_MAX = 200;
const REFRESH_MS = 200;
const ZERO_HASH = '0'.repeat(64);

const state = {
  route: { view: 'home', id: '' },
  token: null,
  authorized: false,
  node: null,
  uptime: { base: 0, at: 0 },
  difficulty: null,   // last api/difficulty reply, redrawn when the window is resized
  pageSeq: 0,         // bumps on every navigation so a late reply cannot paint a stale page
};

/* ---------------------------------------------------------------- DOM helpers */

const $ = (sel, root = document) => root.querySelector(sel);
const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    el.append(k instanceof Node ? k : String(k));
  }
  return el;
}

/** An HTML element: h('a', {href}, 'text', child, …). Strings become text nodes. */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return append(el, kids);
}

/** An SVG element, same shape as h(). */
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  return append(el, kids);
}

function fill(el, ...kids) {
  el.replaceChildren();
  return append(el, kids);
}

function setText(sel, text) {
  const el = $(sel);
  if (el) el.textContent = text;
}

/* ---------------------------------------------------------------- formatting */

const shortHash = (x) => (x && x.length > 16 ? `${x.slice(0, 6)}…${x.slice(-6)}` : x || '—');
const shortAddr = (a) => (a && a.length > 22 ? `${a.slice(0, 12)}…${a.slice(-6)}` : a || '—');
const fmtInt = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));

/** DOT with up to 8 decimals, trailing zeros dropped: 50, 0.0001. */
function fmtAmount(v) {
  if (v == null) return '—';
  return Number(v).toFixed(8).replace(/\.?0+$/, '');
}
const fmtDot = (v) => (v == null ? '—' : `${fmtAmount(v)} DOT`);

// Live events carry every amount as an integer number of satoshis (docs/events.md); the page
// shows DOT. Integer arithmetic keeps all 8 decimals exact (any amount fits a double).
function satToDot(sat) {
  if (sat == null) return null;
  const whole = Math.floor(sat / 1e8);
  const frac = String(sat % 1e8).padStart(8, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}
const fmtSat = (sat) => (sat == null ? '—' : `${satToDot(sat)} DOT`);

function fmtBytes(n) {
  if (n == null) return '—';
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(2)} MB`;
}

function fmtHashrate(hps) {
  if (hps == null) return '—';
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s'];
  let v = Number(hps);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 || v === 0 ? v.toFixed(0) : v.toPrecision(3)} ${units[i]}`;
}

/** Difficulty spans 1e-10 (regtest) to 1e6 (demo network): exponent form at the ends. */
function fmtDiff(d) {
  if (d == null) return '—';
  const v = Number(d);
  if (v === 0) return '0';
  if (Math.abs(v) < 0.01 || Math.abs(v) >= 1e7) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function fmtDuration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), hr = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60), s_ = sec % 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m ${s_}s`;
  return `${s_}s`;
}

const clock = (date) => date.toLocaleTimeString('en-GB', { hour12: false });
function fmtTime(unix) {
  if (unix == null) return '—';
  const d = new Date(unix * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? clock(d) : `${d.toLocaleDateString('en-CA')} ${clock(d)}`;
}
const fmtFullTime = (unix) => (unix == null ? '—' : `${new Date(unix * 1000).toLocaleString()} (${unix})`);

/** Chain work arrives as hex of any size; BigInt keeps it exact. */
function work(hex) {
  try { return BigInt('0x' + (hex || '0')); } catch (_) { return 0n; }
}

/** A BigInt, grouped when short enough to read, else in exponent form. */
function fmtBig(n) {
  const str = n.toString();
  if (str.length <= 15) return Number(n).toLocaleString('en-US');
  return `${str[0]}.${str.slice(1, 4)}e${str.length - 1}`;
}

/** A BigInt in 3 significant digits with an SI suffix: 3.94M. */
function fmtShort(n) {
  if (n < 100000n && n > -100000n) return Number(n).toLocaleString('en-US');
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let v = Number(n), i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return Math.abs(v) >= 1000 ? Number(n).toExponential(2) : `${Number(v.toPrecision(3))}${units[i]}`;
}

/* ---------------------------------------------------------------- links */

const blockLink = (hash, text) => h('a', { href: `#/block/${hash}`, class: 'mono' }, text || shortHash(hash));
const txLink = (txid, text) => h('a', { href: `#/tx/${txid}`, class: 'mono' }, text || shortHash(txid));
const addrLink = (addr, text) =>
  addr ? h('a', { href: `#/address/${encodeURIComponent(addr)}`, class: 'mono' }, text || shortAddr(addr)) : '—';

function statusBadge(status, id) {
  return h('span', { class: `badge st-${status}`, id }, status || 'unknown');
}

/* ---------------------------------------------------------------- API */

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET (or other) api/<path>, parsed as JSON; non-2xx throws HttpError with the node's message. */
async function api(path, init) {
  const res = await fetch(`api/${path}`, init);
  let body = null;
  try { body = await res.json(); } catch (_) { /* empty or not JSON: keep null */ }
  if (!res.ok) throw new HttpError(res.status, (body && body.error) || `HTTP ${res.status}`);
  return body;
}

/* ---------------------------------------------------------------- refresh scheduling */

// Each key names one fetch-and-render. Events mark keys dirty; flush() runs each dirty key
// once, never two of the same key at a time (a key marked during its own fetch runs again
// after it). Overview panels are left dirty while another view shows, and load on return.
const loaders = {
  node: loadNode,
  tree: loadTree,
  blocks: loadBlocks,
  mempool: loadMempool,
  difficulty: loadDifficulty,
  peers: loadPeers,
  page: () => loadPage(false),
};
const HOME_KEYS = ['tree', 'blocks', 'mempool', 'difficulty', 'peers'];
const ALL_KEYS = Object.keys(loaders);
const dirty = new Set();
const running = new Set();
let flushTimer = null;

function invalidate(...keys) {
  keys.forEach((k) => dirty.add(k));
  // Throttle rather than debounce: a steady stream of events still refreshes every REFRESH_MS.
  if (!flushTimer && dirty.size) flushTimer = setTimeout(flush, REFRESH_MS);
}

function flush() {
  flushTimer = null;
  for (const key of [...dirty]) {
    if (running.has(key)) continue;
    if (HOME_KEYS.includes(key) && state.route.view !== 'home') continue;
    if (key === 'page' && state.route.view === 'home') { dirty.delete(key); continue; }
    dirty.delete(key);
    running.add(key);
    loaders[key]()
      .catch((e) => panelError(key, e))
      .finally(() => {
        running.delete(key);
        if (dirty.has(key)) invalidate();
      });
  }
}

/** Shows a failed load inside the panel it was for (never as an uncaught error). */
function panelError(key, e) {
  const msg = `could not load: ${e.message}`;
  const table = { blocks: '#blocks', mempool: '#mempool', peers: '#peers' }[key];
  if (table) fill($(`${table} tbody`), h('tr', {}, h('td', { colspan: 8, class: 'empty error' }, msg)));
  else if (key === 'tree') fill($('#tree'), h('p', { class: 'empty error' }, msg));
  else if (key === 'difficulty') setText('#difficulty-caption', msg);
  else if (key === 'node') setLive('offline', 'node unreachable');
}

/* ---------------------------------------------------------------- node summary */

async function loadNode() {
  const n = await api('node');
  state.node = n;
  state.uptime = { base: n.uptime, at: Date.now() };
  setText('#network', n.network);
  setText('#version', `v${n.version}`);
  setHeight(n.height, n.headers);
  setTip(n.tip);
  setText('#difficulty', fmtDiff(n.difficulty));
  setText('#hashrate-net', fmtHashrate(n.networkhashps));
  setText('#hashrate-local', fmtHashrate(n.localhashps));
  setMining(n.mining, n.mining_threads);
  setText('#mempool-count', fmtInt(n.mempool_count));
  setText('#mempool-bytes', fmtBytes(n.mempool_bytes));
  setText('#peer-count', fmtInt(n.peers));
  renderUptime();
  document.title = `${n.height} · dotcoin ${n.network}`;
  setLabReport(n.lab_report);
}

// The network lab's report (`--labreport`), when the node was given one: a link in the
// top bar. The node accepts only http(s) URLs; checked again here before it is a link.
function setLabReport(url) {
  let a = document.querySelector('#lab-report');
  if (!url || !/^https?:\/\//.test(url)) { if (a) a.remove(); return; }
  if (!a) {
    a = h('a', { id: 'lab-report', class: 'version', target: '_blank', rel: 'noopener' });
    a.textContent = 'lab report';
    document.querySelector('.topbar').insertBefore(a, document.querySelector('#search-form'));
  }
  a.href = url;
}

function setHeight(height, headers) {
  // Plain digits: tests and learners read this number as is.
  setText('#height', String(height));
  const card = $('#height').parentElement;
  let sub = card.querySelector('.sub');
  if (headers != null && headers > height) {
    if (!sub) sub = card.appendChild(h('div', { class: 'sub' }));
    sub.textContent = `headers ${headers}`;
  } else if (sub) sub.remove();
}

function setTip(hash) {
  fill($('#tip'), blockLink(hash));
}

function setMining(on, threads) {
  const el = $('#mining');
  el.textContent = on ? 'on' : 'off';
  el.className = `v ${on ? 'on' : 'off'}`;
  setText('#mining-threads', on ? `${threads} thread${threads === 1 ? '' : 's'}` : '');
}

function renderUptime() {
  if (!state.node) return;
  setText('#uptime', fmtDuration(state.uptime.base + (Date.now() - state.uptime.at) / 1000));
}

/* ---------------------------------------------------------------- block tree */

// Geometry (px). One row per height, newest on top; lane 0 is the active chain, other
// branches take lanes to its right.
const T = { ROW: 30, RH: 20, W: 116, LANE: 200, LEFT: 134, TOP: 34, BOTTOM: 12, CAPTION: 190 };

async function loadTree() {
  renderTree(await api(`tree?depth=${TREE_DEPTH}`));
}

function renderTree(data) {
  const box = $('#tree');
  const blocks = data.blocks || [];
  if (!blocks.length) {
    fill(box, h('p', { class: 'empty' }, 'No blocks yet.'));
    return;
  }
  const byHash = new Map(blocks.map((b) => [b.hash, b]));
  const parents = new Set(blocks.map((b) => b.prev));

  // Lane 0: the active chain, walked down from the tip.
  const lane = new Map();
  for (let b = byHash.get(data.tip); b && !lane.has(b.hash); b = byHash.get(b.prev)) lane.set(b.hash, 0);

  // Every other leaf starts a branch that runs down until it meets a placed block. The
  // highest leaves go first, so a trunk shared by two branches belongs to the longer one.
  // A branch takes the first lane with no other branch within a row of it.
  const leaves = blocks
    .filter((b) => !parents.has(b.hash) && !lane.has(b.hash))
    .sort((a, b) => b.height - a.height || (work(b.chainwork) > work(a.chainwork) ? 1 : -1));
  const used = [[]]; // used[lane] = [[lo, hi], …] height ranges taken
  const branches = [];
  for (const leaf of leaves) {
    const seg = [];
    for (let b = leaf; b && !lane.has(b.hash); b = byHash.get(b.prev)) seg.push(b);
    if (!seg.length) continue;
    const lo = seg[seg.length - 1].height - 1, hi = leaf.height;
    let l = 1;
    while ((used[l] || []).some(([a, z]) => a <= hi && lo <= z)) l++;
    (used[l] = used[l] || []).push([lo, hi]);
    seg.forEach((b) => lane.set(b.hash, l));
    // Fork point: where this branch meets the active chain (if inside the window).
    let f = byHash.get(seg[seg.length - 1].prev);
    while (f && lane.get(f.hash) !== 0) f = byHash.get(f.prev);
    branches.push({ leaf, fork: f });
  }

  const maxH = Math.max(...blocks.map((b) => b.height));
  const minH = Math.min(...blocks.map((b) => b.height));
  const lanes = used.length;
  const width = T.LEFT + (lanes - 1) * T.LANE + T.CAPTION + 8;
  const height = T.TOP + (maxH - minH + 1) * T.ROW + T.BOTTOM;
  const X = (b) => T.LEFT + lane.get(b.hash) * T.LANE;
  const Y = (b) => T.TOP + (maxH - b.height) * T.ROW;
  const rowY = (hgt) => T.TOP + (maxH - hgt) * T.ROW;

  const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'tree-svg', role: 'img', 'aria-label': 'Block tree' });
  const gRows = s('g', { class: 'rows' });
  const gEdges = s('g', { class: 'edges' });
  const gMarks = s('g', { class: 'marks' });
  const gBlocks = s('g', { class: 'blocks' });
  svg.append(gRows, gEdges, gMarks, gBlocks);

  // Height labels, with a faint band on every other row to guide the eye across lanes.
  for (let hgt = maxH; hgt >= minH; hgt--) {
    const y = rowY(hgt);
    if (hgt % 2 === 0) gRows.append(s('rect', { x: 0, y: y - (T.ROW - T.RH) / 2, width, height: T.ROW, class: 'band' }));
    gRows.append(s('text', { x: 40, y: y + T.RH / 2, class: 'hlabel' }, hgt));
  }

  // Edges, child to parent. Across lanes: out of the parent's side, then up into the child.
  for (const b of blocks) {
    const p = byHash.get(b.prev);
    if (!p) continue;
    const cx = X(b) + T.W / 2, cy = Y(b) + T.RH;
    let d;
    if (X(p) === X(b)) {
      d = `M${cx},${cy}V${Y(p)}`;
    } else {
      const right = X(b) > X(p);
      const sx = right ? X(p) + T.W : X(p), sy = Y(p) + T.RH / 2, r = 8;
      d = `M${sx},${sy}H${cx + (right ? -r : r)}Q${cx},${sy} ${cx},${sy - r}V${cy}`;
    }
    gEdges.append(s('path', { d, class: `edge st-${b.status}` }));
  }

  // Reorgs, grouped by fork point: a pill in the left gutter on the fork point's row,
  // and a dashed outline on each tip a reorg replaced.
  const oldTips = new Set();
  const byFork = new Map();
  for (const r of data.reorgs || []) {
    if (r.fork_height < minH || r.fork_height > maxH) continue;
    oldTips.add(r.old_tip);
    if (!byFork.has(r.fork_height)) byFork.set(r.fork_height, []);
    byFork.get(r.fork_height).push(r);
  }
  for (const [fh, list] of byFork) {
    const y = rowY(fh);
    const label = `⟲ ${list.map((r) => r.depth).join(', ')}`;
    const tip = list.map((r) =>
      `Reorg at ${fmtTime(r.time)}: ${r.depth} block${r.depth === 1 ? '' : 's'} disconnected back to the fork point ` +
      `at height ${r.fork_height} (${shortHash(r.fork_hash)}); tip ${shortHash(r.old_tip)} → ${shortHash(r.new_tip)} at height ${r.height}`).join('\n');
    const g = s('g', { class: 'reorg', transform: `translate(48,${y})` },
      s('title', {}, tip),
      s('line', { x1: 72, x2: T.LEFT - 48, y1: T.RH / 2, y2: T.RH / 2, class: 'reorg-link' }),
      s('rect', { width: 72, height: T.RH, rx: 10 }),
      s('text', { x: 36, y: T.RH / 2 }, label));
    gMarks.append(g);
  }

  // Races: at a height with several blocks, rank them by arrival (the node's sequence).
  const rank = new Map();
  const atHeight = new Map();
  for (const b of blocks) {
    if (b.sequence == null) continue;
    if (!atHeight.has(b.height)) atHeight.set(b.height, []);
    atHeight.get(b.height).push(b);
  }
  for (const list of atHeight.values()) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.sequence - b.sequence).forEach((b, i) => i && rank.set(b.hash, i + 1));
  }

  const ordinal = (n) => `${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`;
  for (const b of blocks) {
    const isTip = b.hash === data.tip;
    const cls = ['blk', `st-${b.status}`, isTip && 'tip', oldTips.has(b.hash) && 'old-tip'].filter(Boolean).join(' ');
    const tip = [
      `Block ${b.height}${isTip ? ' (tip)' : ''}`, b.hash, `status: ${b.status}`,
      `chainwork: ${fmtBig(work(b.chainwork))}`, `time: ${fmtFullTime(b.time)}`,
      b.tx_count != null ? `${b.tx_count} transaction(s)` : null,
      b.sequence != null ? `arrival #${b.sequence}${rank.has(b.hash) ? ` — ${ordinal(rank.get(b.hash))} at this height` : ''}` : null,
      oldTips.has(b.hash) ? 'was the tip until a reorg replaced it' : null,
    ].filter(Boolean).join('\n');
    const g = s('g', {
      class: cls, 'data-hash': b.hash, 'data-status': b.status, 'data-height': b.height,
      transform: `translate(${X(b)},${Y(b)})`, tabindex: 0, role: 'link',
      onclick: () => go(`#/block/${b.hash}`),
      onkeydown: (e) => { if (e.key === 'Enter') go(`#/block/${b.hash}`); },
    }, s('title', {}, tip));
    if (oldTips.has(b.hash)) g.append(s('rect', { x: -4, y: -4, width: T.W + 8, height: T.RH + 8, rx: 7, class: 'old-ring' }));
    g.append(s('rect', { width: T.W, height: T.RH, rx: 4, class: 'box' }));
    g.append(s('text', { x: T.W / 2, y: T.RH / 2, class: 'lbl' }, shortHash(b.hash)));
    if (rank.has(b.hash)) {
      g.append(s('circle', { cx: T.W, cy: 0, r: 7.5, class: 'race' }), s('text', { x: T.W, y: 0, class: 'race-n' }, rank.get(b.hash)));
    }
    gBlocks.append(g);
  }

  // Work captions in the free row above each branch's top block: how much work each side
  // added since the fork — the number that decides which branch is active.
  const tipBlock = byHash.get(data.tip);
  if (tipBlock) {
    gMarks.append(s('text', { x: X(tipBlock), y: Y(tipBlock) - 6, class: 'cap cap-tip' },
      `▲ tip · chainwork ${fmtBig(work(tipBlock.chainwork))}`));
  }
  for (const { leaf, fork } of branches) {
    if (leaf.status === 'invalid') continue; // its work does not count
    let text, cls = 'cap';
    if (fork && tipBlock) {
      const base = work(fork.chainwork);
      const mine = work(leaf.chainwork) - base, act = work(tipBlock.chainwork) - base;
      // Compact numbers fit the lane; exact ones when compact would hide a difference.
      let [a, b] = [fmtShort(mine), fmtShort(act)];
      if (a === b && mine !== act) [a, b] = [fmtBig(mine), fmtBig(act)];
      text = mine === act ? `work since fork: ${a} = ${b}, tie` : `work since fork: ${a} vs ${b}`;
      if (mine > act) cls += ' cap-more';
    } else {
      text = `chainwork ${fmtBig(work(leaf.chainwork))}`;
    }
    gMarks.append(s('text', { x: X(leaf), y: Y(leaf) - 6, class: cls },
      s('title', {}, 'Since the fork point: work added by this branch vs by the active chain. The node follows the valid branch with the most total work.'),
      text));
  }

  fill(box, svg);
}

/* ---------------------------------------------------------------- latest blocks */

async function loadBlocks() {
  const list = await api('blocks?count=20');
  const spacing = state.node ? state.node.target_spacing : null;
  const rows = list.map((b) => {
    let ivCls = 'num';
    if (spacing && b.interval != null) {
      if (b.interval > spacing * 2) ivCls += ' slow';
      else if (b.interval < spacing / 2) ivCls += ' fast';
    }
    return h('tr', { 'data-hash': b.hash },
      h('td', {}, blockLink(b.hash, String(b.height))),
      h('td', {}, blockLink(b.hash)),
      h('td', { title: fmtFullTime(b.time) }, fmtTime(b.time)),
      h('td', { class: ivCls }, b.interval == null ? '—' : `${b.interval} s`),
      h('td', { class: 'num' }, fmtInt(b.tx_count)),
      h('td', { class: 'num' }, fmtBytes(b.size)),
      h('td', { class: 'num' }, fmtAmount(b.fees)),
      h('td', {}, addrLink(b.miner)));
  });
  fill($('#blocks tbody'), rows.length ? rows : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No blocks.')));
}

/* ---------------------------------------------------------------- mempool */

async function loadMempool() {
  const m = await api('mempool');
  const next = m.next_block || { txids: [], fees: 0, size: 0 };
  const nextCount = next.count == null ? next.txids.length : next.count;
  setText('#mempool-summary', `${fmtInt(m.count)} transaction${m.count === 1 ? '' : 's'} · ${fmtBytes(m.bytes)}`);

  const SHOW = 12;
  fill($('#next-block'),
    h('h3', {}, 'Projected next block'),
    h('p', { class: 'muted' }, `${fmtInt(nextCount)} tx · ${fmtBytes(next.size)} · fees `, h('strong', {}, fmtDot(next.fees))),
    h('p', { class: 'hint' }, 'What a miner here would include now (plus the coinbase): the highest fee rates first.'),
    next.txids.length
      ? h('ol', { class: 'txlist' }, next.txids.slice(0, SHOW).map((t) => h('li', {}, txLink(t))),
        nextCount > SHOW ? h('li', { class: 'muted more' }, `… and ${fmtInt(nextCount - SHOW)} more`) : null)
      : h('p', { class: 'empty' }, 'Empty: only the coinbase.'));

  const rows = (m.txs || []).slice(0, 100).map((t) => h('tr', {},
    h('td', {}, txLink(t.txid)),
    h('td', { class: 'num' }, fmtAmount(t.fee_rate)),
    h('td', { class: 'num' }, fmtAmount(t.fee)),
    h('td', { class: 'num' }, fmtBytes(t.size)),
    h('td', { title: fmtFullTime(t.time) }, fmtTime(t.time)),
    h('td', {}, t.in_next ? h('span', { class: 'tag next' }, 'next block') : '')));
  // The node lists the best-paying 100; the count is the whole pool's.
  if (m.count > rows.length && rows.length) rows.push(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, `… ${fmtInt(m.count - rows.length)} more at lower fee rates`)));
  fill($('#mempool tbody'), rows.length ? rows : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'The mempool is empty.')));
}

/* ---------------------------------------------------------------- difficulty charts */

async function loadDifficulty() {
  renderDifficulty(await api('difficulty?count=200'));
}

function renderDifficulty(d) {
  state.difficulty = d;
  const pts = d.points || [];
  const retargets = state.node && state.node.retarget === false
    ? 'this network does not retarget'
    : `retarget every ${d.retarget_interval} blocks (dashed lines)`;
  setText('#difficulty-caption', pts.length
    ? `heights ${pts[0].height}–${pts[pts.length - 1].height} · target ${d.target_spacing} s per block · ${retargets}`
    : '');
  drawIntervals($('#chart-intervals'), pts, d.target_spacing, d.retarget_interval);
  drawDifficulty($('#chart-difficulty'), pts);
}

/** A step of 1, 2 or 5 × 10^k giving about n ticks over [0, max]. */
function niceStep(max, n) {
  const raw = max / n;
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw);
}

/** Axes, grid, height labels and retarget lines shared by both charts. */
function chartFrame(box, pts, yMax, yFmt) {
  const W = Math.max(300, box.clientWidth || 600), H = 200;
  const m = { l: 62, r: 14, t: 12, b: 24 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const band = pw / Math.max(1, pts.length);
  const x = (i) => m.l + i * band;
  const y = (v) => m.t + ph - (v / yMax) * ph;
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart' });

  const step = niceStep(yMax, 4);
  for (let v = 0; v <= yMax * 1.0001; v += step) {
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: m.l - 6, y: y(v), class: 'ylab' }, yFmt(v)));
  }
  if (pts.length) {
    const hStep = niceStep(Math.max(1, pts.length), Math.max(2, Math.floor(pw / 55)));
    pts.forEach((p, i) => {
      if (p.height % hStep === 0) svg.append(s('text', { x: x(i) + band / 2, y: H - 6, class: 'xlab' }, p.height));
      if (p.retarget) svg.append(s('line', { x1: x(i), x2: x(i), y1: m.t, y2: m.t + ph, class: 'retarget' },
        s('title', {}, `retarget at height ${p.height}`)));
    });
  }
  svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(0), y2: y(0), class: 'axis' }));
  return { svg, x, y, band, m, W, ph };
}

function drawIntervals(box, pts, spacing, interval) {
  const ivs = pts.map((p) => p.interval).filter((v) => v != null);
  if (!ivs.length) { fill(box, h('p', { class: 'empty' }, 'Not enough blocks yet.')); return; }
  // Scale to the data, but cap at 6× the target so one long wait does not flatten the rest;
  // taller bars are clipped and marked.
  const top = Math.max(spacing * 2, Math.min(Math.max(...ivs), spacing * 6));
  const yMax = Math.ceil((top * 1.08) / niceStep(top, 4)) * niceStep(top, 4);
  const f = chartFrame(box, pts, yMax, (v) => `${v} s`);
  const bw = Math.max(1, f.band * 0.72);
  pts.forEach((p, i) => {
    if (p.interval == null) return;
    const v = Math.max(0, p.interval), shown = Math.min(v, yMax);
    let cls = 'bar';
    if (v > spacing * 1.5) cls += ' slow';
    else if (v < spacing / 1.5) cls += ' fast';
    if (v > yMax) cls += ' clipped';
    f.svg.append(s('rect', { x: f.x(i) + (f.band - bw) / 2, y: f.y(shown), width: bw, height: f.y(0) - f.y(shown), class: cls },
      s('title', {}, `height ${p.height}: ${p.interval} s after the previous block`)));
  });
  // Moving average over one retarget window: what the retarget rule looks at.
  const win = Math.max(2, interval || 10);
  const avg = [];
  pts.forEach((p, i) => {
    const w = pts.slice(Math.max(0, i - win + 1), i + 1).map((q) => q.interval).filter((v) => v != null);
    if (w.length >= Math.min(win, 3)) avg.push(`${f.x(i) + f.band / 2},${f.y(Math.min(yMax, w.reduce((a, b) => a + b, 0) / w.length))}`);
  });
  if (avg.length > 1) f.svg.append(s('polyline', { points: avg.join(' '), class: 'avg' }, s('title', {}, `average of the last ${win} intervals`)));
  const ty = f.y(spacing);
  f.svg.append(s('line', { x1: f.m.l, x2: f.W - f.m.r, y1: ty, y2: ty, class: 'target' }),
    s('text', { x: f.W - f.m.r - 4, y: ty - 5, class: 'target-lab' }, `target ${spacing} s`));
  f.svg.append(s('text', { x: f.m.l + 6, y: f.m.t + 10, class: 'chart-key' }, `— average over ${win} blocks`));
  fill(box, f.svg);
}

function drawDifficulty(box, pts) {
  if (!pts.length) { fill(box, h('p', { class: 'empty' }, 'No blocks yet.')); return; }
  const maxD = Math.max(...pts.map((p) => p.difficulty));
  const step = niceStep(maxD > 0 ? maxD * 1.1 : 1, 4);
  const yMax = Math.ceil((maxD > 0 ? maxD * 1.1 : 1) / step) * step;
  const f = chartFrame(box, pts, yMax, fmtDiff);
  // A step line: difficulty only changes at retarget heights.
  let d = '';
  pts.forEach((p, i) => {
    const y = f.y(p.difficulty);
    d += i === 0 ? `M${f.x(0)},${y}` : `V${y}`;
    d += `H${f.x(i) + f.band}`;
  });
  f.svg.append(s('path', { d, class: 'diff-line' }));
  pts.forEach((p, i) => {
    if (i === 0 || p.retarget) f.svg.append(s('circle', { cx: f.x(i), cy: f.y(p.difficulty), r: 3, class: 'diff-dot' },
      s('title', {}, `height ${p.height}: difficulty ${fmtDiff(p.difficulty)}`)));
  });
  fill(box, f.svg);
}

/* ---------------------------------------------------------------- peers */

async function loadPeers() {
  const peers = await api('peers');
  const rows = peers.map((p) => {
    // Only http(s) links: the URL is built from what a peer told us.
    const url = p.dashboard_url && /^https?:\/\//i.test(p.dashboard_url) ? p.dashboard_url : null;
    return h('tr', { 'data-peer': p.id },
      h('td', { class: 'num' }, p.id),
      h('td', { class: 'mono' }, p.addr),
      h('td', {}, h('span', { class: `tag ${p.inbound ? 'in' : 'out'}` }, p.inbound ? 'inbound' : 'outbound')),
      h('td', { class: 'num' }, fmtInt(p.height)),
      h('td', { class: 'num' }, p.ping_ms == null ? '—' : `${Math.round(p.ping_ms)} ms`),
      h('td', { class: `num${p.banscore > 0 ? ' warn' : ''}` }, p.banscore),
      h('td', {}, url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, 'open ↗') : '—'),
      h('td', {}, h('button', {
        class: 'act-ctl small', type: 'button', disabled: !state.authorized, title: 'disconnectnode',
        onclick: (e) => act('disconnectnode', { id: p.id }, e.currentTarget),
      }, 'Disconnect')));
  });
  fill($('#peers tbody'), rows.length ? rows : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No peers. Add one with “Add peer”.')));
}

/* ---------------------------------------------------------------- detail pages */

async function loadPage(initial) {
  const { view, id } = state.route;
  if (view === 'home') return;
  const seq = state.pageSeq;
  const el = $(`#view-${view}`);
  if (initial) fill(el, h('p', { class: 'empty' }, 'loading…'));
  let data;
  try {
    data = await api(`${view}/${encodeURIComponent(id)}`);
  } catch (e) {
    if (seq !== state.pageSeq) return;
    const what = { block: 'block', tx: 'transaction', address: 'address' }[view];
    fill(el, h('section', { class: 'panel' },
      h('h1', {}, `No such ${what}`),
      h('p', { class: 'mono break' }, id),
      h('p', { class: 'error' }, e.message),
      h('p', {}, h('a', { href: '#/' }, '← overview'))));
    return;
  }
  if (seq !== state.pageSeq) return;
  ({ block: renderBlock, tx: renderTx, address: renderAddress })[view](el, data);
}

/** Key/value rows for a definition grid. */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** A 64-hex number with its leading zeros and the digit at `diff` marked. */
function hexRow(hex, diff, cls) {
  const lead = hex.match(/^0*/)[0].length;
  const kind = (i) => [i < lead && 'zero', i === diff && 'diff'].filter(Boolean).join(' ') || 'rest';
  const parts = [];
  for (let i = 0, j; i < hex.length; i = j) {
    for (j = i + 1; j < hex.length && kind(j) === kind(i);) j++;
    parts.push(h('span', { class: kind(i) }, hex.slice(i, j)));
  }
  return h('code', { class: `hex ${cls}` }, parts);
}

/** How the block met proof of work: its hash as a number under the target from `bits`. */
function powPanel(b) {
  const hash = (b.hash_number || b.hash).toLowerCase().padStart(64, '0');
  const target = (b.target || '').toLowerCase().padStart(64, '0');
  if (!/^[0-9a-f]{64}$/.test(target)) return null;
  // Equal-length hex strings compare like the numbers they spell.
  const ok = hash <= target;
  let diff = 0;
  while (diff < 64 && hash[diff] === target[diff]) diff++;
  const zeroBits = (hex) => {
    const i = hex.search(/[1-9a-f]/);
    return i < 0 ? 256 : i * 4 + (4 - parseInt(hex[i], 16).toString(2).length);
  };
  const bits = b.bits || '00000000';
  const exp = parseInt(bits.slice(0, 2), 16), mant = bits.slice(2);
  const expected = (1n << 256n) / (BigInt('0x' + target) + 1n);
  return h('section', { class: 'panel pow' },
    h('div', { class: 'panel-head' }, h('h2', {}, 'Proof of work'),
      h('span', { class: `verdict ${ok ? 'ok' : 'bad'}` }, ok ? 'hash ≤ target ✓' : 'hash > target ✗')),
    h('div', { class: 'hexgrid' },
      h('span', { class: 'k' }, 'hash'), hexRow(hash, diff < 64 ? diff : -1, 'h'),
      h('span', { class: 'k' }, 'target'), hexRow(target, diff < 64 ? diff : -1, 't')),
    h('p', {},
      diff < 64
        ? `Read as 256-bit numbers, they first differ at digit ${diff + 1}: ${hash[diff]} ${ok ? '<' : '>'} ${target[diff]}, so the hash is ${ok ? 'below' : 'above'} the target.`
        : 'The hash equals the target, which still meets it.',
      ` The hash starts with ${zeroBits(hash)} zero bits, the target with ${zeroBits(target)}.`),
    h('p', { class: 'muted' },
      `bits ${bits} encodes target = 0x${mant} × 256^(0x${bits.slice(0, 2)} − 3) = 0x${mant} × 256^${exp - 3}. `,
      `A random nonce meets it about once in ${fmtBig(expected)} tries — that is this block's work.`));
}

/** A section with a heading. */
const panel = (title, ...kids) => h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, title)), kids);
const td = (x, cls) => h('td', { class: cls }, x);
const num = (x) => td(x, 'num');

/** A table; `head` maps each column title to its class ('num' right-aligns). */
function table(head, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, Object.entries(head).map(([t, c]) => h('th', { class: c || null }, t)))),
    h('tbody', {}, rows)));
}

function renderBlock(el, b) {
  const isGenesis = !b.prev || b.prev === ZERO_HASH;
  const button = (name, label) => h('button', {
    id: `act-${name.replace('block', '')}`, class: 'act-ctl', type: 'button', disabled: !state.authorized,
    onclick: (e) => act(name, { hash: b.hash }, e.currentTarget),
  }, label);
  const txs = (b.txs || []).map((t, i) => h('tr', {},
    num(i), td([txLink(t.txid), i === 0 && h('span', { class: 'tag' }, 'coinbase')]),
    num(t.inputs), num(t.outputs), num(fmtAmount(t.value_out)), num(i === 0 ? '—' : fmtAmount(t.fee)), num(fmtBytes(t.size))));

  fill(el,
    h('div', { class: 'page-head' },
      h('h1', {}, `Block ${fmtInt(b.height)}`), statusBadge(b.status, 'block-status'),
      h('nav', { class: 'pager' },
        isGenesis ? h('span', { class: 'muted' }, '← genesis') : h('a', { href: `#/block/${b.prev}` }, '← previous'),
        b.next ? h('a', { href: `#/block/${b.next}` }, 'next →') : h('span', { class: 'muted' }, 'next →'))),
    h('p', { id: 'block-hash', class: 'mono big break' }, b.hash),
    powPanel(b),
    panel('Header', facts([
      ['Version', `${b.version} (0x${(b.version >>> 0).toString(16).padStart(8, '0')})`],
      ['Previous block', isGenesis ? 'none (genesis)' : blockLink(b.prev, b.prev)],
      ['Merkle root', h('span', { class: 'mono' }, b.merkle_root)],
      ['Time', fmtFullTime(b.time)],
      ['Bits', h('span', { class: 'mono' }, b.bits)],
      ['Nonce', fmtInt(b.nonce)],
      ['Difficulty', fmtDiff(b.difficulty)],
      ['Chain work', `${fmtBig(work(b.chainwork))} (0x${b.chainwork})`],
      ['Confirmations', b.confirmations > 0 ? fmtInt(b.confirmations) : 'none — not on the active chain'],
      ['Next block', b.next ? blockLink(b.next, b.next) : '—'],
      ['Size', fmtBytes(b.size)],
      ['Fees', fmtDot(b.fees)],
    ])),
    panel(`Transactions (${b.tx_count == null ? 'not downloaded' : b.tx_count})`,
      table({ '#': 'num', Txid: '', Inputs: 'num', Outputs: 'num', 'Value out': 'num', Fee: 'num', Size: 'num' }, txs,
        'Only the header is known: the block data has not arrived.')),
    panel('Actions', h('div', { class: 'block-actions' },
      button('invalidateblock', 'Invalidate'), button('reconsiderblock', 'Reconsider'),
      h('span', { class: 'muted' }, state.authorized
        ? 'Invalidate marks this block and its descendants invalid (the node reorgs away); reconsider undoes it.'
        : 'read-only: open the URL dotcoind printed to act'))));
}

function renderTx(el, t) {
  const sum = (list) => list.reduce((a, x) => (a == null || x.value == null ? null : a + x.value), 0);
  const inCount = t.input_count == null ? t.inputs.length : t.input_count;
  const outCount = t.output_count == null ? t.outputs.length : t.output_count;
  // A large transaction is listed in part: the node resolves at most 100 rows of each.
  const moreRow = (shown, total, cols) => (total > shown
    ? [h('tr', {}, h('td', { colspan: cols, class: 'muted more-rows' }, `… and ${fmtInt(total - shown)} more`))] : []);
  const inputs = t.coinbase
    ? [h('tr', {}, num(0), td([h('span', { class: 'tag' }, 'coinbase'), ' new coins: subsidy + the block’s fees'], 'wrap'), td(''), td(''))]
    : t.inputs.map((i, n) => h('tr', {},
      num(n), td(txLink(i.prev_txid, `${shortHash(i.prev_txid)}:${i.prev_vout}`)), td(addrLink(i.address)), num(fmtAmount(i.value))))
      .concat(moreRow(t.inputs.length, inCount, 4));
  const outputs = t.outputs.map((o) => h('tr', {},
    num(o.n), td(addrLink(o.address)), num(fmtAmount(o.value)), td(o.spent_by ? txLink(o.spent_by) : '—')))
    .concat(moreRow(t.outputs.length, outCount, 4));
  const plural = t.confirmations === 1 ? '' : 's';

  fill(el,
    h('div', { class: 'page-head' }, h('h1', {}, 'Transaction'),
      t.in_mempool ? h('span', { class: 'badge mempool' }, 'in mempool')
        : h('span', { class: 'badge st-active' }, `${fmtInt(t.confirmations)} confirmation${plural}`),
      t.coinbase && h('span', { class: 'tag' }, 'coinbase')),
    h('p', { id: 'tx-id', class: 'mono big break' }, t.txid),
    h('section', { class: 'panel' }, facts([
      ['Status', t.in_mempool ? 'in the mempool, waiting to be mined'
        : [`${fmtInt(t.confirmations)} confirmation${plural}, in block `, blockLink(t.block_hash, `${t.block_height} (${shortHash(t.block_hash)})`)]],
      ['Size', fmtBytes(t.size)],
      ['Fee', t.coinbase ? 'none (coinbase)' : fmtDot(t.fee)],
      ['Fee rate', t.fee_rate == null ? '—' : `${fmtAmount(t.fee_rate)} DOT/kvB`],
      !t.coinbase && ['Total in', fmtDot(t.value_in === undefined ? sum(t.inputs) : t.value_in)],
      ['Total out', fmtDot(t.value_out === undefined ? sum(t.outputs) : t.value_out)],
    ])),
    h('div', { class: 'two-col' },
      panel(`Inputs (${fmtInt(inCount)})`, h('p', { class: 'hint' }, 'Each input spends an earlier output.'),
        table({ '#': 'num', Spends: '', Address: '', Value: 'num' }, inputs)),
      panel(`Outputs (${fmtInt(outCount)})`, h('p', { class: 'hint' }, '“Spent by”: a mempool transaction spending it.'),
        table({ '#': 'num', Address: '', Value: 'num', 'Spent by': '' }, outputs))));
}

const utxoRow = (u) => h('tr', {},
  td(txLink(u.txid, `${shortHash(u.txid)}:${u.vout}`)), num(fmtAmount(u.value)),
  num(u.height == null ? 'mempool' : fmtInt(u.height)), num(fmtInt(u.confirmations)));
const historyRow = (x) => h('tr', {},
  td(txLink(x.txid)), num(x.height == null ? h('span', { class: 'badge mempool' }, 'mempool') : blockLink(x.height, fmtInt(x.height))),
  num(x.received == null ? '' : fmtAmount(x.received)), num(x.sent == null ? '' : fmtAmount(x.sent)));

/**
 * The node answers an address a page at a time (50 outputs and 50 history rows, with a
 * cursor for each list): "More" asks for the next page of that list and appends it.
 */
function pagedTable(head, rows, empty, id, cursor, param, key, rowOf) {
  const wrap = h('div', { id });
  const body = h('tbody', {}, rows);
  const more = h('button', { type: 'button', class: 'small more-rows', hidden: !cursor }, 'More');
  let next = cursor;
  more.addEventListener('click', async () => {
    const seq = state.pageSeq;
    more.disabled = true;
    try {
      const page = await api(`address/${encodeURIComponent(state.route.id)}?${param}=${encodeURIComponent(next)}`);
      if (seq !== state.pageSeq) return;
      append(body, page[key].map(rowOf));
      next = page.next[param];
      more.hidden = !next;
    } catch (e) {
      more.after(h('span', { class: 'error' }, ` ${e.message}`));
    } finally {
      more.disabled = false;
    }
  });
  if (!rows.length) return append(wrap, [h('p', { class: 'empty' }, empty)]);
  return append(wrap, [h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('thead', {}, h('tr', {}, Object.entries(head).map(([t, c]) => h('th', { class: c || null }, t)))),
    body)), more]);
}

function renderAddress(el, a) {
  const next = a.next || {};
  const utxoCount = a.utxo_count == null ? a.utxos.length : a.utxo_count;
  const txCount = a.tx_count == null ? a.history.length : a.tx_count;

  fill(el,
    h('div', { class: 'page-head' }, h('h1', {}, 'Address')),
    h('p', { id: 'address-id', class: 'mono big break' }, a.address),
    h('section', { class: 'panel' }, facts([
      ['Balance', h('strong', { id: 'address-balance' }, fmtDot(a.balance))],
      a.immature != null && ['Immature', [fmtDot(a.immature), h('span', { class: 'muted' }, ' (coinbase rewards not yet spendable)')]],
      ['Unconfirmed', fmtDot(a.unconfirmed)],
      a.received != null && ['Received', fmtDot(a.received)],
      ['Unspent outputs', h('span', { id: 'address-utxo-count' }, fmtInt(utxoCount))],
      ['Transactions', h('span', { id: 'address-tx-count' }, fmtInt(txCount))],
    ])),
    h('div', { class: 'two-col' },
      panel('Unspent outputs', pagedTable({ Output: '', Value: 'num', Height: 'num', Confirmations: 'num' },
        a.utxos.map(utxoRow), 'No unspent outputs.', 'address-utxos', next.utxos_after, 'utxos_after', 'utxos', utxoRow)),
      panel('History', pagedTable({ Txid: '', Height: 'num', Received: 'num', Sent: 'num' },
        a.history.map(historyRow), 'No transactions.', 'address-history', next.history_before, 'history_before', 'history', historyRow))));
}

/* ---------------------------------------------------------------- routing and search */

function parseRoute() {
  const m = location.hash.match(/^#\/(block|tx|address)\/(.+)$/);
  return m ? { view: m[1], id: decodeURIComponent(m[2]) } : { view: 'home', id: '' };
}

function go(hash) {
  if (location.hash === hash) onRoute();
  else location.hash = hash;
}

function onRoute() {
  state.route = parseRoute();
  state.pageSeq++;
  setText('#search-msg', '');
  for (const v of ['home', 'block', 'tx', 'address']) $(`#view-${v}`).hidden = v !== state.route.view;
  if (state.route.view === 'home') invalidate(...HOME_KEYS);
  else {
    dirty.delete('page');
    loadPage(true).catch((e) => panelError('page', e));
  }
  window.scrollTo(0, 0);
}

async function search(q) {
  q = q.trim();
  setText('#search-msg', '');
  if (!q) return;
  try {
    const r = await api(`search?q=${encodeURIComponent(q)}`);
    $('#search').value = '';
    go(`#/${r.kind}/${encodeURIComponent(r.id)}`);
  } catch (e) {
    setText('#search-msg', e.status === 404 ? 'nothing found' : e.message);
  }
}

/* ---------------------------------------------------------------- live events */

// What each event makes stale. 'page' is the open block/tx/address page.
const BLOCK_KEYS = ['node', 'tree', 'blocks', 'mempool', 'difficulty', 'page'];
const EVENT_KEYS = {
  block_connected: BLOCK_KEYS,
  block_disconnected: BLOCK_KEYS,
  tip_changed: BLOCK_KEYS,
  block_stored: ['tree'],
  tx_accepted: ['node', 'mempool', 'txpage'],
  tx_removed: ['node', 'mempool', 'txpage'],
  peer_connected: ['node', 'peers'],
  peer_disconnected: ['node', 'peers'],
  peer_banned: ['node', 'peers'],
  miner_status: ['node'],
  lagged: ALL_KEYS,
};

// Activity filter group of an event type (see the checkboxes above #activity): block, tx,
// peer, miner, or lagged/stream for the page's own notes.
const group = (type) => (type === 'tip_changed' ? 'block' : type.split('_')[0]);

function describe(type, d) {
  const blk = () => [`block ${d.height} `, blockLink(d.hash)];
  switch (type) {
    case 'block_connected':
      return ['Connected ', blk(), ` · ${d.tx_count} tx · fees ${fmtSat(d.fees_sat)}`];
    case 'block_disconnected':
      return ['Disconnected ', blk(), ` · ${d.tx_count} tx back to the mempool`];
    case 'block_stored':
      return ['Stored ', blk()];
    case 'tip_changed':
      return d.reorg
        ? [h('strong', {}, `Reorg of depth ${d.reorg.depth}`), ': new tip ', blk(),
          `, fork point at height ${d.reorg.fork_height} `, blockLink(d.reorg.fork_point)]
        : ['Tip → ', blk()];
    case 'tx_accepted':
      return ['Accepted ', txLink(d.txid),
        ` · pays ${fmtSat(d.value_out_sat)} · fee ${fmtSat(d.fee_sat)} · ${fmtBytes(d.size)}`];
    case 'tx_removed':
      return d.reason === 'replaced' && d.by
        ? ['Removed ', txLink(d.txid), ' · replaced by ', txLink(d.by)]
        : ['Removed ', txLink(d.txid), ` · ${d.reason}`];
    case 'peer_connected':
      return [`Peer #${d.id} `, h('span', { class: 'mono' }, d.addr), ` connected (${d.inbound ? 'inbound' : 'outbound'})`];
    case 'peer_disconnected':
      return [`Peer #${d.id} `, h('span', { class: 'mono' }, d.addr), ' disconnected'];
    case 'peer_banned':
      return [h('strong', {}, 'Banned '), h('span', { class: 'mono' }, d.addr), `: ${d.reason}`];
    case 'miner_status':
      return d.mining ? `Mining started on ${d.threads} thread${d.threads === 1 ? '' : 's'}` : 'Mining stopped';
    case 'lagged':
      return `Missed ${d.missed} event(s); views reloaded`;
    default:
      return d.text || type;
  }
}

function logActivity(type, data) {
  const list = $('#activity');
  const reorg = type === 'tip_changed' && data.reorg;
  const li = h('li', { 'data-type': type, 'data-group': group(type), class: reorg ? 'hot' : null },
    h('time', {}, clock(new Date())),
    h('span', { class: `ev ev-${group(type)}` }, type.replace(/_/g, ' ')),
    h('span', { class: 'msg' }, describe(type, data)));
  list.prepend(li);
  while (list.children.length > ACTIVITY_MAX) list.lastElementChild.remove();
  $('#activity-empty').hidden = true;
}

function onEvent(type, raw) {
  let data = {};
  try { data = JSON.parse(raw || '{}') || {}; } catch (_) { /* keep {} */ }
  logActivity(type, data);
  // Instant updates straight from the event; the re-fetch fills in the rest.
  if (type === 'tip_changed') { setHeight(data.height, state.node && state.node.headers); setTip(data.hash); }
  if (type === 'miner_status') setMining(data.mining, data.threads);
  const keys = (EVENT_KEYS[type] || []).flatMap((k) =>
    k === 'txpage' ? (['tx', 'address'].includes(state.route.view) ? ['page'] : []) : [k]);
  invalidate(...keys);
}

function setLive(cls, text) {
  $('#live').className = `live ${cls}`;
  setText('#live-text', text);
}

let source = null;
let streamLost = false;
function connectEvents() {
  source = new EventSource('api/events');
  source.onopen = () => {
    setLive('ok', 'live');
    if (streamLost) {
      // Events may have been missed while away: reload everything.
      logActivity('stream', { text: 'Event stream reconnected; views reloaded' });
      invalidate(...ALL_KEYS);
    }
    streamLost = false;
  };
  source.onerror = () => {
    if (!streamLost) logActivity('stream', { text: 'Event stream lost; reconnecting…' });
    streamLost = true;
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. an error status): start a fresh stream a bit later.
      setLive('offline', 'offline');
      source.close();
      setTimeout(connectEvents, 5000);
    } else {
      setLive('connecting', 'reconnecting…');
    }
  };
  for (const type of Object.keys(EVENT_KEYS)) source.addEventListener(type, (e) => onEvent(type, e.data));
}

/* ---------------------------------------------------------------- auth and actions */

/** Takes ?token= off the address bar into sessionStorage, then asks the node if it is valid. */
async function initAuth() {
  const params = new URLSearchParams(location.search);
  if (params.has('token')) {
    const t = params.get('token');
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    params.delete('token');
    const q = params.toString();
    history.replaceState(history.state, '', location.pathname + (q ? `?${q}` : '') + location.hash);
  }
  state.token = sessionStorage.getItem(TOKEN_KEY);
  setAuthorized(false);
  if (!state.token) return;
  try {
    const r = await api('auth', { headers: { Authorization: `Bearer ${state.token}` } });
    setAuthorized(!!r.authorized);
    if (!r.authorized) tokenRejected();
  } catch (e) {
    if (e.status === 401) tokenRejected();
    else setAuthorized(false);
  }
}

function tokenRejected() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  setAuthorized(false);
  setText('#readonly-note', 'read-only: the token was not accepted — open the URL dotcoind printed to act');
}

function setAuthorized(ok) {
  state.authorized = ok;
  document.body.classList.toggle('authorized', ok);
  $('#readonly-note').hidden = ok;
  document.querySelectorAll('.act-ctl').forEach((el) => { el.disabled = !ok; });
}

function showResult(kind, ...content) {
  const el = $('#act-result');
  el.className = `act-result ${kind}`;
  fill(el, ...content);
}

/** A short readable form of an action's result; block hashes become links. */
function resultView(result) {
  if (Array.isArray(result) && result.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x))) {
    return [`${result.length} block${result.length === 1 ? '' : 's'}: `, result.slice(0, 10).map((x, i) => [i ? ', ' : '', blockLink(x)]),
      result.length > 10 ? ' …' : ''];
  }
  if (result == null) return 'done';
  const text = typeof result === 'string' ? result : JSON.stringify(result);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

async function act(name, body, button) {
  if (!state.authorized) {
    showResult('err', 'read-only: open the URL dotcoind printed to act');
    return;
  }
  if (button) button.disabled = true;
  showResult('pending', `${name}…`);
  try {
    const r = await api(`action/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${state.token}` },
      body: JSON.stringify(body),
    });
    showResult('ok', h('strong', {}, `${name} ✓ `), resultView(r && r.result));
  } catch (e) {
    if (e.status === 401) tokenRejected();
    showResult('err', h('strong', {}, `${name} failed: `), e.message);
  } finally {
    if (button) button.disabled = !state.authorized;
  }
  invalidate('node', 'peers', 'page');
}

function wireActions() {
  const addr = $('#act-generate-address');
  addr.value = localStorage.getItem(MINE_TO_KEY) || '';
  $('#form-generate').addEventListener('submit', (e) => {
    e.preventDefault();
    const n = parseInt($('#act-generate-n').value, 10);
    const address = addr.value.trim();
    if (!(n >= 1)) return showResult('err', 'Enter how many blocks to mine (1 or more).');
    if (!address) return showResult('err', 'Enter the reward address first.');
    localStorage.setItem(MINE_TO_KEY, address);
    act('generate', { nblocks: n, address }, $('#act-generate'));
  });
  const threads = () => Math.max(1, parseInt($('#act-mining-threads').value, 10) || 1);
  $('#form-mining').addEventListener('submit', (e) => {
    e.preventDefault();
    // Continuous mining pays the same reward address as "Mine".
    const address = addr.value.trim();
    if (!address) return showResult('err', 'Enter the reward address first.');
    localStorage.setItem(MINE_TO_KEY, address);
    act('setgenerate', { mining: true, threads: threads(), address }, $('#act-mining-start'));
  });
  $('#act-mining-stop').addEventListener('click', (e) =>
    act('setgenerate', { mining: false, threads: threads() }, e.currentTarget));
  $('#form-addnode').addEventListener('submit', (e) => {
    e.preventDefault();
    const node = $('#act-addnode-node').value.trim();
    if (!node) return showResult('err', 'Enter a peer as host:port.');
    act('addnode', { node }, $('#act-addnode'));
  });
  $('#form-disconnect').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = parseInt($('#act-disconnect-id').value, 10);
    if (!(id >= 0)) return showResult('err', 'Enter the peer id (see the peers table).');
    act('disconnectnode', { id }, $('#act-disconnect'));
  });
}

/* ---------------------------------------------------------------- start */

function wireActivityFilters() {
  const box = $('#activity-filters');
  box.addEventListener('change', () => {
    for (const cb of box.querySelectorAll('input')) $('#activity').classList.toggle(`hide-${cb.value}`, !cb.checked);
  });
}

function start() {
  $('#search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search($('#search').value);
  });
  wireActions();
  wireActivityFilters();
  window.addEventListener('hashchange', onRoute);

  // Charts are drawn to the width of their box: redraw (from the last data) on resize.
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => state.difficulty && state.route.view === 'home' && renderDifficulty(state.difficulty), 150);
  });
  // The uptime card counts seconds locally between fetches; this timer fetches nothing.
  setInterval(renderUptime, 1000);

  initAuth();
  connectEvents();
  onRoute();
  invalidate('node');
}

start();
