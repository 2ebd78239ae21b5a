// Verity's live dashboard. It talks to one node over its RPC with
// @polkadot/api (types from the chain's metadata: no SCALE by hand), indexes
// the inference pallet's events block by block, reads models, executors and
// verifiers from state, and asks the `InferenceApi` runtime API for typed
// outputs and their argmax. `npm run build` bundles it with its packages
// (esbuild) into dist/app.js; `verity dashboard` serves it, and
// /config.json names the node.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import Chart from 'chart.js/auto';

// Events of at most this many past blocks are indexed when the page opens
// (`?history=N`): a node that prunes state keeps 256 blocks by default;
// an archive node (`--state-pruning archive`) serves any depth.
const HISTORY_BLOCKS = Number(new URLSearchParams(location.search).get('history') ?? 200);
const CATCH_UP_PER_TICK = 100;
const CHART_BLOCKS = 60;

const $ = (sel) => document.querySelector(sel);
const statusEl = $('#status');

function setStatus(kind, text) {
  statusEl.className = `status ${kind}`;
  statusEl.textContent = text;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else if (k === 'onclick') e.addEventListener('click', v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

// --- formatting ------------------------------------------------------------
let decimals = 12;
let symbol = 'VRT';
const names = new Map(); // address -> dev name
function fmtBalance(v) {
  const x = BigInt(v.toString());
  const unit = 10n ** BigInt(decimals);
  const whole = x / unit;
  const frac = ((x % unit) * 1000n) / unit;
  return `${whole.toLocaleString('en')}${frac ? '.' + frac.toString().padStart(3, '0').replace(/0+$/, '') : ''} ${symbol}`;
}
function who(address) {
  const a = address.toString();
  return names.get(a) ?? `${a.slice(0, 6)}…${a.slice(-4)}`;
}
const short = (hex) => `${hex.slice(0, 10)}…`;

// --- the index built from events ------------------------------------------
let state;
function resetIndex() {
  state = {
    genesis: null,
    last: 0, // last indexed block
    jobs: new Map(), // id -> job
    modelJobs: new Map(), // model id -> jobs submitted
    perBlock: new Map(), // block -> jobs submitted
    outcomes: [], // [{block, settled, failed, overturned}] cumulative
    totals: { settled: 0, failed: 0, overturned: 0 },
    executorJobs: new Map(),
    verdicts: new Map(),
    audits: new Map(),
    slashes: new Map(), // account -> [count, total]
    disputes: new Map(), // job -> dispute
    admissions: new Map(), // model -> {committee, votes, decided}
  };
}
resetIndex();

function fields(event) {
  const out = {};
  const data = event.data;
  (data.names ?? []).forEach((n, i) => { out[n] = data[i]; });
  return out;
}
function bump(map, key, by = 1) { map.set(key, (map.get(key) ?? 0) + by); }

function job(id) {
  let j = state.jobs.get(id);
  if (!j) {
    j = { id, steps: [], status: 'Queued', model: null, requester: null, executor: null, mode: null, fee: null, output: null };
    state.jobs.set(id, j);
  }
  return j;
}
function step(j, label, block, extra = '') { j.steps.push({ label, block, extra }); }
function dispute(id) {
  let d = state.disputes.get(id);
  if (!d) {
    d = { job: id, challenger: null, bond: null, committee: [], votes: new Map(), outcome: null, money: [], block: null };
    state.disputes.set(id, d);
  }
  return d;
}

async function indexBlock(n) {
  const hash = await api.rpc.chain.getBlockHash(n);
  const at = await api.at(hash);
  const records = await at.query.system.events();
  let resolving = null; // the dispute a block's Slashed/Rewarded belong to
  let submitted = 0;
  for (const { event } of records) {
    if (event.section !== 'inference') continue;
    const f = fields(event);
    const id = f.job !== undefined ? f.job.toNumber() : null;
    switch (event.method) {
      case 'JobSubmitted': {
        const j = job(id);
        j.model = f.model.toHex(); j.requester = f.requester.toString(); j.fee = f.fee.toString();
        step(j, 'submitted', n, `fee ${fmtBalance(f.fee)}`);
        bump(state.modelJobs, j.model); submitted++;
        break;
      }
      case 'JobAssigned': case 'JobReassigned': {
        const j = job(id);
        j.executor = f.executor.toString(); j.status = 'Assigned';
        step(j, event.method === 'JobAssigned' ? 'assigned' : 'reassigned', n, who(f.executor));
        bump(state.executorJobs, j.executor);
        break;
      }
      case 'JobDeclined': step(job(id), 'declined', n, who(f.executor)); break;
      case 'ResultCommitted': { const j = job(id); j.status = 'Committed'; step(j, 'result committed', n); break; }
      case 'ResultSubmitted': {
        const j = job(id);
        j.status = 'Submitted'; j.resultBlock = n;
        step(j, 'result', n, `window until #${f.challengeUntil.toString()}`);
        j.wantOutput = true;
        break;
      }
      case 'AuditorDrawn': step(job(id), 'audit drawn', n, who(f.auditor)); break;
      case 'AuditPassed': step(job(id), 'audit passed', n, who(f.auditor)); bump(state.audits, f.auditor.toString()); break;
      case 'AuditLapsed': step(job(id), 'audit lapsed', n, who(f.auditor)); break;
      case 'JobChallenged': {
        const j = job(id); j.status = 'Disputed';
        const challenger = f.challenger.isSome ? who(f.challenger.unwrap()) : 'the runtime';
        step(j, 'challenged', n, `by ${challenger}, bond ${fmtBalance(f.bond)}`);
        const d = dispute(id); d.challenger = challenger; d.bond = fmtBalance(f.bond); d.block = n;
        break;
      }
      case 'FaultReported': step(job(id), 'fault reported', n, f.fault.type); dispute(id).block ??= n; break;
      case 'CommitteeDrawn': {
        const d = dispute(id); d.committee = f.committee.map((a) => a.toString());
        step(job(id), 'committee drawn', n, d.committee.map(who).join(', '));
        break;
      }
      case 'CommitteeReplaced': {
        const d = dispute(id);
        const removed = new Set(f.removed.map((a) => a.toString()));
        d.committee = d.committee.filter((a) => !removed.has(a)).concat(f.added.map((a) => a.toString()));
        step(job(id), `committee round ${f.round.toNumber()}`, n);
        break;
      }
      case 'VerdictSubmitted': {
        const vote = f.vote.isDisagrees ? `Disagrees (group ${f.vote.asDisagrees.group.toNumber()})` : f.vote.type;
        dispute(id).votes.set(f.verifier.toString(), { vote, block: n });
        bump(state.verdicts, f.verifier.toString());
        break;
      }
      case 'DisputeResolved': {
        const d = dispute(id); d.outcome = f.outcome.type; resolving = d;
        step(job(id), 'dispute resolved', n, d.outcome);
        if (d.outcome === 'ExecutorWrong') { state.totals.overturned++; }
        break;
      }
      case 'DisputeStalled': step(job(id), 'dispute stalled', n); break;
      case 'DisputeEnded': { const d = dispute(id); d.outcome = 'Ended without verdict'; resolving = d; break; }
      case 'Slashed': case 'Rewarded': {
        const line = `${event.method === 'Slashed' ? 'slashed' : 'rewarded'} ${who(f.who)} ${fmtBalance(f.amount)}`;
        if (resolving) resolving.money.push(line);
        if (event.method === 'Slashed') {
          const [c, t] = state.slashes.get(f.who.toString()) ?? [0, 0n];
          state.slashes.set(f.who.toString(), [c + 1, t + BigInt(f.amount.toString())]);
        }
        break;
      }
      case 'JobSettled': {
        const j = job(id); j.status = 'Settled';
        step(j, 'settled', n, `executor fee ${fmtBalance(f.fee)}, price ${fmtBalance(f.price)}`);
        state.totals.settled++;
        break;
      }
      case 'JobFailed': {
        const j = job(id); j.status = `Failed (${f.reason.type})`;
        step(j, 'failed', n, `${f.reason.type}, refund ${fmtBalance(f.refund)}`);
        state.totals.failed++;
        break;
      }
      case 'JobPruned': job(id).pruned = true; break;
      case 'AdmissionStarted': {
        const m = f.model.toHex();
        state.admissions.set(m, { committee: f.committee.length, votes: 0, decided: null });
        break;
      }
      case 'AdmissionVoted': { const a = state.admissions.get(f.model.toHex()); if (a) a.votes++; break; }
      case 'AdmissionDecided': {
        const a = state.admissions.get(f.model.toHex()) ?? { committee: 0, votes: 0 };
        a.decided = f.admitted.isTrue ? 'admitted' : 'rejected';
        state.admissions.set(f.model.toHex(), a);
        break;
      }
      default: break;
    }
  }
  state.perBlock.set(n, submitted);
  state.outcomes.push({ block: n, ...state.totals });
  if (state.outcomes.length > Math.max(HISTORY_BLOCKS, CHART_BLOCKS)) state.outcomes.shift();
}

// --- reading state ---------------------------------------------------------
async function heldBy(address) {
  const holds = await api.query.balances.holds(address);
  return holds.reduce((sum, h) => sum + BigInt(h.amount.toString()), 0n);
}

async function fetchOutputs() {
  for (const j of state.jobs.values()) {
    if (!j.wantOutput) continue;
    j.wantOutput = false;
    const record = await api.query.inference.jobs(j.id);
    if (record.isSome) {
      const r = record.unwrap();
      j.mode = r.mode.type;
    }
    const out = await api.call.inferenceApi.jobOutput(j.id);
    if (out.isSome) {
      const tensors = out.unwrap();
      const first = tensors[0];
      // `values` is also the name of a Map method (codec structs are Maps).
      const all = first.get('values').value;
      const values = all.slice(0, 4).map((v) => v.toString());
      j.output = {
        argmax: first.argmax.map((x) => x.toNumber()),
        text: `${first.name.toString()} [${first.shape.map(Number).join(',')}] ${values.join(', ')}${all.length > 4 ? ', …' : ''}`,
      };
    }
  }
}

async function renderModels() {
  const entries = await api.query.modelRegistry.models.entries();
  const body = $('#models tbody');
  body.replaceChildren();
  for (const [key, value] of entries) {
    if (value.isNone) continue;
    const m = value.unwrap();
    const id = key.args[0].toHex();
    const adm = state.admissions.get(id);
    const admission = `${m.status.type}${adm ? ` (${adm.votes}/${adm.committee} votes${adm.decided ? ', ' + adm.decided : ''})` : ''}`;
    // Tolerances are fixed-point numbers with 9 decimals (as the CLI writes them).
    const fixed9 = (x) => (Number(x.toString()) / 1e9).toString();
    const policy = m.policy.isTolerance
      ? `tolerance ${fixed9(m.policy.asTolerance.abs)},${fixed9(m.policy.asTolerance.rel)}`
      : m.policy.isTopK ? `top-${m.policy.asTopK.toNumber()}` : m.policy.type;
    body.append(el('tr', { 'data-model': id, 'data-family': m.family.toUtf8() },
      el('td', { class: 'family' }, m.family.toUtf8()),
      el('td', {}, `${m.version.major}.${m.version.minor}`),
      el('td', {}, who(m.owner)),
      el('td', {}, fmtBalance(m.price)),
      el('td', {}, policy),
      el('td', { class: 'admission' }, admission),
      el('td', { class: 'jobs' }, state.modelJobs.get(id) ?? 0),
      el('td', {}, fmtBalance(m.bond)),
      el('td', { class: 'mono' }, short(id))));
  }
}

const modelNames = new Map();
async function modelName(id) {
  if (!modelNames.has(id)) {
    const m = await api.query.modelRegistry.models(id);
    modelNames.set(id, m.isSome ? `${m.unwrap().family.toUtf8()}@${m.unwrap().version.major}.${m.unwrap().version.minor}` : short(id));
  }
  return modelNames.get(id);
}

let openJob = null;
async function renderJobs() {
  const body = $('#jobs tbody');
  body.replaceChildren();
  const jobs = [...state.jobs.values()].sort((a, b) => b.id - a.id).slice(0, 200);
  for (const j of jobs) {
    const status = j.status;
    body.append(el('tr', { class: 'clickable', 'data-job': j.id, onclick: () => { openJob = j.id; renderDetail(); } },
      el('td', {}, j.id),
      el('td', {}, j.model ? await modelName(j.model) : ''),
      el('td', {}, j.requester ? who(j.requester) : ''),
      el('td', {}, j.executor ? who(j.executor) : ''),
      el('td', {}, j.mode ?? ''),
      el('td', {}, j.steps[0] ? `#${j.steps[0].block}` : ''),
      el('td', { class: `status-cell ${status.split(' ')[0]}` }, status),
      el('td', { class: 'output' }, j.output ? `argmax ${j.output.argmax.join(',')}` : '')));
  }
  renderDetail();
}

function renderDetail() {
  const box = $('#job-detail');
  const j = openJob !== null && state.jobs.get(openJob);
  if (!j) { box.hidden = true; return; }
  box.hidden = false;
  box.replaceChildren(
    el('h3', {}, `Job ${j.id}: ${j.status}`),
    el('ol', { class: 'timeline' }, ...j.steps.map((s) => el('li', {}, `#${s.block} ${s.label}${s.extra ? ' — ' + s.extra : ''}`))),
    el('p', {}, j.output ? `output: ${j.output.text}; argmax ${j.output.argmax.join(',')}` : 'no output yet'));
}

function renderDisputes() {
  const box = $('#disputes');
  if (state.disputes.size === 0) return;
  box.replaceChildren();
  for (const d of [...state.disputes.values()].sort((a, b) => b.job - a.job)) {
    const votes = el('table', { class: 'votes' }, el('thead', {}, el('tr', {}, el('th', {}, 'member'), el('th', {}, 'vote'), el('th', {}, 'block'))));
    const tbody = el('tbody');
    for (const member of new Set([...d.committee, ...d.votes.keys()])) {
      const v = d.votes.get(member);
      tbody.append(el('tr', { 'data-member': who(member) }, el('td', {}, who(member)), el('td', { class: 'vote' }, v ? v.vote : d.outcome ? 'no vote' : 'pending'), el('td', {}, v ? `#${v.block}` : '')));
    }
    votes.append(tbody);
    box.append(el('div', { class: 'dispute', 'data-job': d.job },
      el('h3', {}, `Job ${d.job}: ${d.outcome ?? 'open'}`),
      el('p', {}, `challenged ${d.block !== null ? `at #${d.block}` : ''} by ${d.challenger ?? '?'}${d.bond ? `, bond ${d.bond}` : ''}`),
      votes,
      el('p', { class: 'money' }, d.money.join('; '))));
  }
}

// One row per staked account: who, stake, held, the `middle` cells (what
// the role did), slashes, missed duties, state.
async function accountRows(entries, middle) {
  const rows = [];
  for (const [key, value] of entries) {
    const info = value.unwrap();
    const a = key.args[0].toString();
    const [slashes, slashed] = state.slashes.get(a) ?? [0, 0n];
    const cells = [
      who(a), fmtBalance(info.stake), fmtBalance(await heldBy(a)), ...middle(a),
      slashes ? `${slashes} (${fmtBalance(slashed)})` : 0, info.missed.toNumber(),
      info.unbondingUntil.isSome ? `unbonding until #${info.unbondingUntil.unwrap()}` : 'active',
    ];
    rows.push(el('tr', { 'data-account': who(a) }, ...cells.map((c) => el('td', {}, c))));
  }
  return rows;
}

async function renderAccounts() {
  $('#executors tbody').replaceChildren(...await accountRows(
    await api.query.inference.executors.entries(),
    (a) => [state.executorJobs.get(a) ?? 0]));
  $('#verifiers tbody').replaceChildren(...await accountRows(
    await api.query.inference.verifiers.entries(),
    (a) => [state.verdicts.get(a) ?? 0, state.audits.get(a) ?? 0]));
}

// --- charts (Chart.js) ----------------------------------------------------
const charts = {};
function chart(id, type, datasets) {
  return new Chart($(id), {
    type,
    data: { labels: [], datasets },
    options: { animation: false, responsive: true, plugins: { legend: { display: datasets.length > 1 } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}
function renderCharts() {
  charts.jobs ??= chart('#chart-jobs', 'bar', [{ label: 'jobs', data: [], backgroundColor: '#1f4e9c' }]);
  charts.latency ??= chart('#chart-latency', 'bar', [{ label: 'blocks', data: [], backgroundColor: '#c8102e' }]);
  charts.outcomes ??= chart('#chart-outcomes', 'line', [
    { label: 'settled', data: [], borderColor: '#1f4e9c', pointRadius: 0 },
    { label: 'failed', data: [], borderColor: '#888', pointRadius: 0 },
    { label: 'overturned', data: [], borderColor: '#c8102e', pointRadius: 0 },
  ]);
  const from = Math.max(1, state.last - CHART_BLOCKS + 1);
  const blocks = [];
  for (let n = from; n <= state.last; n++) blocks.push(n);
  charts.jobs.data.labels = blocks.map((n) => `#${n}`);
  charts.jobs.data.datasets[0].data = blocks.map((n) => state.perBlock.get(n) ?? 0);
  const done = [...state.jobs.values()].filter((j) => j.resultBlock !== undefined && j.steps[0]?.label === 'submitted').slice(-50);
  charts.latency.data.labels = done.map((j) => `job ${j.id}`);
  charts.latency.data.datasets[0].data = done.map((j) => j.resultBlock - j.steps[0].block);
  const points = state.outcomes.filter((o) => o.block >= from);
  charts.outcomes.data.labels = points.map((o) => `#${o.block}`);
  charts.outcomes.data.datasets[0].data = points.map((o) => o.settled);
  charts.outcomes.data.datasets[1].data = points.map((o) => o.failed);
  charts.outcomes.data.datasets[2].data = points.map((o) => o.overturned);
  for (const c of Object.values(charts)) c.update('none');
}

// --- the loop ---------------------------------------------------------------
let api;
let busy = false;
let rendered = ''; // the head and indexed block the tables were last read at
async function tick() {
  if (busy || !api || !api.isConnected) return;
  busy = true;
  try {
    const genesis = api.genesisHash.toHex();
    if (state.genesis !== genesis) { resetIndex(); state.genesis = genesis; rendered = ''; }
    const head = (await api.rpc.chain.getHeader()).number.toNumber();
    if (state.last === 0) state.last = Math.max(0, head - HISTORY_BLOCKS);
    const target = Math.min(head, state.last + CATCH_UP_PER_TICK);
    for (let n = state.last + 1; n <= target; n++) {
      try {
        await indexBlock(n);
      } catch (e) {
        // Pruned state (or a block gone in a reorg): the page goes on without it.
        console.warn(`block #${n} not indexed: ${e.message}`);
      }
      state.last = n;
    }
    $('#head').textContent = `block #${head}${target < head ? ` (indexing #${target})` : ''}`;
    // State changes only with blocks: no new block, nothing to read again.
    if (`${head}:${state.last}` === rendered) return;
    rendered = `${head}:${state.last}`;
    await fetchOutputs();
    await renderModels();
    await renderJobs();
    renderDisputes();
    await renderAccounts();
    renderCharts();
  } catch (e) {
    console.error(e);
  } finally {
    busy = false;
  }
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const url = config.url;
  let provider;
  try {
    provider = new WsProvider(url, 1000);
  } catch (e) {
    setStatus('disconnected', `bad node URL ${url}: ${e.message}`);
    return;
  }
  setStatus('connecting', `connecting to ${url}…`);
  let everConnected = false;
  provider.on('connected', () => { everConnected = true; setStatus('connected', `connected to ${url}`); tick(); });
  provider.on('disconnected', () => setStatus('disconnected', `disconnected from ${url}, reconnecting…`));
  provider.on('error', () => {
    if (!everConnected) setStatus('disconnected', `cannot reach a node at ${url}, retrying…`);
  });
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519' });
  for (const n of ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']) names.set(keyring.addFromUri(`//${n}`).address, n);
  api = await ApiPromise.create({ provider, noInitWarn: true });
  const props = await api.rpc.system.properties();
  if (props.tokenDecimals.isSome) decimals = props.tokenDecimals.unwrap()[0].toNumber();
  if (props.tokenSymbol.isSome) symbol = props.tokenSymbol.unwrap()[0].toString();
  if (provider.isConnected) setStatus('connected', `connected to ${url}`);
  setInterval(tick, 1000);
  tick();
}

main().catch((e) => setStatus('disconnected', `dashboard error: ${e.message}`));
