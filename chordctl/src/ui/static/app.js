// The live view. Every second: the side panel from /api/view and the ring
// picture from /api/ring.svg (drawn by chordctl, so the page and
// `chordctl ring --svg` share one geometry). The form sends a traced
// request through /api/kv; the route it took is kept and sent back with
// every picture request, so it stays drawn until cleared.
//
// `?trace=KEY` does a traced get on load, `?op=put&key=K&value=V` any
// operation: a page loaded without a person (a headless browser) shows a
// trace too.
'use strict';

const POLL_MS = 1000;
// The route being drawn: {key, path: [hex ids], owner: hex id}, or null.
let trace = null;

const $ = (id) => document.getElementById(id);

function pictureUrl() {
  if (!trace) return '/api/ring.svg';
  const q = new URLSearchParams({ key: trace.key, path: trace.path.join(','), owner: trace.owner });
  return '/api/ring.svg?' + q.toString();
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function showView(view) {
  const rows = view.nodes.map((n) => {
    const tr = document.createElement('tr');
    const dash = (v) => (v === null || v === undefined ? '–' : String(v));
    tr.append(
      cell(n.name),
      cell(n.state, 'state-' + n.state),
      cell(dash(n.keys_owned), 'num'),
      cell(dash(n.keys_replica), 'num'),
      cell(n.repairing ? 'repairing' : (n.repairing === false ? 'idle' : '–'), n.repairing ? 'repairing' : ''),
    );
    return tr;
  });
  $('nodes').tBodies[0].replaceChildren(...rows);
  $('problems').replaceChildren(...view.problems.map((p) => {
    const li = document.createElement('li');
    li.textContent = p;
    return li;
  }));
  const up = view.nodes.filter((n) => n.state === 'up').length;
  const parts = [];
  if (view.error) {
    parts.push(view.error);
  } else {
    parts.push(`cluster ${view.cluster} (${view.runtime}): ${view.nodes.length} nodes, ${up} up`);
    parts.push(view.rings === 1 ? 'one ring' : `${view.rings} separate rings`);
    parts.push(view.healthy ? 'healthy' : 'not healthy');
  }
  $('summary').textContent = parts.join(' · ');
  $('summary').className = view.healthy ? '' : 'bad';
}

async function refresh() {
  try {
    const [view, svg] = await Promise.all([
      fetch('/api/view').then((r) => r.json()),
      fetch(pictureUrl()).then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.status)))),
    ]);
    showView(view);
    // The SVG is chordctl's own, with every name escaped.
    $('ring').innerHTML = svg;
  } catch (e) {
    $('summary').textContent = 'chordctl ui does not answer (' + e.message + ')';
    $('summary').className = 'bad';
  }
}

function showResult(res) {
  $('result').hidden = false;
  const who = (name, addr) => name || addr || 'unknown';
  if (res.error) {
    $('answer').textContent = res.error;
    $('answer').className = 'bad';
    $('body').textContent = '';
    $('path').replaceChildren();
    return;
  }
  const hops = res.hops === null || res.hops === undefined ? '?' : res.hops;
  $('answer').textContent =
    `${res.op} ${res.key} → ${res.status} via ${res.via}, owner ${who(res.owner_name, res.owner)}, ${hops} hop${hops === 1 ? "" : "s"}`;
  $('answer').className = res.status < 300 ? '' : 'bad';
  $('body').textContent = res.body;
  const steps = (res.path || []).map((h) => {
    const li = document.createElement('li');
    li.textContent = `${who(h.name, h.addr)}: ${h.tags.join(', ')}`;
    return li;
  });
  if (!res.path) {
    const li = document.createElement('li');
    li.textContent = res.path_error || 'the node reported no path (X-Chord-Path)';
    steps.push(li);
  }
  $('path').replaceChildren(...steps);
}

async function send(op, key, value) {
  const body = { op, key };
  if (op === 'put') body.value = value;
  try {
    const r = await fetch('/api/kv', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const res = await r.json();
    trace = res.trace || null;
    $('clear').disabled = !trace;
    showResult(res);
  } catch (e) {
    showResult({ error: 'the request failed: ' + e.message });
  }
  await refresh();
}

function fill(op, key, value) {
  const form = $('kv');
  form.elements.op.value = op;
  form.elements.key.value = key;
  form.elements.value.value = value || '';
}

async function loop() {
  await refresh();
  setTimeout(loop, POLL_MS);
}

async function start() {
  $('kv').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    send(f.op.value, f.key.value, f.value.value);
  });
  $('clear').addEventListener('click', () => {
    trace = null;
    $('clear').disabled = true;
    refresh();
  });
  const q = new URLSearchParams(location.search);
  if (q.has('trace')) {
    fill('get', q.get('trace'));
    await send('get', q.get('trace'));
  } else if (q.has('op') && q.has('key')) {
    fill(q.get('op'), q.get('key'), q.get('value'));
    await send(q.get('op'), q.get('key'), q.get('value') || '');
  }
  loop();
}

start();
