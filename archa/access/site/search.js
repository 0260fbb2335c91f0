// archa publish: client-side search over the prebuilt index in search/ (see
// archa/access/site/searchindex.py for its format). Every word must occur; case and
// diacritics do not matter; `word*` matches a prefix of two letters or more. Records whose
// metadata holds every word come first, then pages whose text holds every word.
(function () {
  'use strict';
  const SITE = window.ARCHA_SITE || {buckets: 1, group: 64, docs: {}, shards: {}};
  const shards = {};
  const docs = new Map();  // k -> its record
  window.archaShard = function (b, data) { shards[b] = data; };
  // archaDocs(g, records) of a docs group; archaDocs(records) of an index written before the groups
  window.archaDocs = function (g, d) { (d === undefined ? g : d).forEach(r => docs.set(r.k, r)); };
  // the docs files of the records numbered `ks` (one file for the whole site in an older index)
  function docFiles(ks) {
    if (typeof SITE.docs === 'string') return [SITE.docs];
    return Array.from(new Set(ks.map(k => SITE.docs[String(Math.floor(k / (SITE.group || 64)))])));
  }
  const FOLD = {'ł': 'l', 'Ł': 'l', 'đ': 'd', 'Đ': 'd', 'ø': 'o', 'Ø': 'o', 'ß': 'ss', 'æ': 'ae', 'Æ': 'ae',
    'œ': 'oe', 'Œ': 'oe', 'ı': 'i'};
  const fold = s => s.replace(/[łŁđĐøØßæÆœŒı]/g, c => FOLD[c]).normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  const TOKEN = /[\p{L}\p{N}]+/gu;
  const PAGES_SHOWN = 100;

  function words(q) {
    const out = [];
    for (const piece of q.split(/\s+/)) {
      const toks = fold(piece).match(TOKEN) || [];
      toks.forEach((tok, i) => out.push({tok: tok, prefix: piece.endsWith('*') && i === toks.length - 1 && tok.length >= 2}));
    }
    return out;
  }
  function bucket(tok) {
    let h = 2166136261;
    for (const ch of Array.from(tok).slice(0, 2)) { h ^= ch.codePointAt(0); h = Math.imul(h, 16777619) >>> 0; }
    return h % SITE.buckets;
  }
  const loading = {};
  function load(name) {
    if (!name) return Promise.resolve();
    if (!loading[name]) {
      loading[name] = new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = 'search/' + name;
        s.onload = resolve;
        s.onerror = () => reject(new Error('search/' + name + ' could not be loaded'));
        document.head.appendChild(s);
      });
    }
    return loading[name];
  }
  // k -> {meta: bool, pages: Set of seq} of one word
  function matches(w) {
    const shard = shards[bucket(w.tok)] || {};
    const out = new Map();
    const keys = w.prefix ? Object.keys(shard).filter(t => t.startsWith(w.tok)) : (w.tok in shard ? [w.tok] : []);
    for (const key of keys) {
      for (const group of shard[key].split(';')) {
        const m = /^(\d+)(!?)(?::(.*))?$/.exec(group);
        if (!m) continue;
        const k = Number(m[1]);
        const e = out.get(k) || {meta: false, pages: new Set()};
        e.meta = e.meta || m[2] === '!';
        if (m[3]) m[3].split(',').forEach(s => e.pages.add(Number(s)));
        out.set(k, e);
      }
    }
    return out;
  }
  function find(ws) {
    const each = ws.map(matches);
    const first = each[0] || new Map();
    const records = [], pages = [];
    for (const [k, e] of first) {
      if (e.meta && each.every(m => m.has(k) && m.get(k).meta)) records.push(k);
      for (const seq of e.pages) {
        if (each.every(m => m.has(k) && m.get(k).pages.has(seq))) pages.push([k, seq]);
      }
    }
    return {records: records, pages: pages};
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([a, v]) => e.setAttribute(a, v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function render(q, found) {
    const byK = docs;
    const out = document.getElementById('results');
    out.textContent = '';
    const recs = found.records.filter(k => byK.has(k));
    const pages = found.pages.filter(([k]) => byK.has(k));
    out.appendChild(el('h2', {}, recs.length + (recs.length === 1 ? ' record' : ' records')));
    const ul = out.appendChild(el('ul', {'class': 'list', id: 'record-hits'}));
    for (const k of recs) {
      const d = byK.get(k);
      const li = ul.appendChild(el('li', {'class': 'hit'}));
      li.appendChild(el('a', {href: 'records/' + d.id + '/index.html'}, d.t || d.id));
      li.appendChild(el('div', {'class': 'muted'}, [d.d, d.o].filter(Boolean).join(' · ')));
    }
    const shown = pages.slice(0, PAGES_SHOWN);
    out.appendChild(el('h2', {}, pages.length + (pages.length === 1 ? ' page' : ' pages') +
      (pages.length > shown.length ? ' (the first ' + shown.length + ' shown)' : '')));
    const ol = out.appendChild(el('ul', {'class': 'list', id: 'page-hits'}));
    for (const [k, seq] of shown) {
      const d = byK.get(k);
      const label = d.p[String(seq)] || String(seq);
      const li = ol.appendChild(el('li', {'class': 'hit'}));
      li.appendChild(el('a', {href: 'records/' + d.id + '/index.html#p' + String(seq).padStart(4, '0')},
        (d.t || d.id) + ', page ' + label));
      li.appendChild(el('div', {'class': 'muted'}, [d.d, d.o].filter(Boolean).join(' · ')));
    }
  }
  async function run(q) {
    document.body.dataset.state = 'searching';
    const ws = words(q);
    const status = document.getElementById('status');
    if (!ws.length) {
      document.getElementById('results').textContent = '';
      status.textContent = q.trim() ? 'Type words of letters or digits.' : '';
      document.body.dataset.state = 'done';
      return;
    }
    try {
      await Promise.all(ws.map(w => load(SITE.shards[String(bucket(w.tok))])));
      const found = find(ws);
      await Promise.all(docFiles([...found.records, ...found.pages.map(([k]) => k)]).map(load));
      status.textContent = '';
      render(q, found);
    } catch (err) {
      status.textContent = 'The search index could not be read: ' + err.message;
    }
    document.body.dataset.state = 'done';
  }
  const form = document.getElementById('search');
  const input = document.getElementById('q');
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    const q = input.value;
    history.pushState(null, '', '?q=' + encodeURIComponent(q));
    run(q);
  });
  function fromUrl() {
    const q = new URLSearchParams(location.search).get('q') || '';
    input.value = q;
    run(q);
  }
  window.addEventListener('popstate', fromUrl);
  fromUrl();
})();
