// A dApp in JavaScript: lists the models registered on a Verity chain,
// submits a job for `digits-mlp` and waits for its result through events.
//
//   npm ci && node classify.mjs --url ws://127.0.0.1:9944 \
//     --input ../../models/digits/00-label-2.json --suri //Eve
//
// Everything comes from the chain's metadata (storage, calls, events, and the
// `InferenceApi` runtime API): no custom type bundle and no hand-written
// SCALE. The input file is Verity's tensor JSON (what `verity job submit`
// takes); `InferenceApi.encodeTensors` turns it into the bytes a job
// carries, and `InferenceApi.jobOutput` returns the output with typed
// elements and each row's argmax, ranked as the chain ranks it.
import { readFile } from 'node:fs/promises';
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const url = option('url', 'ws://127.0.0.1:9944');
const inputPath = option('input', new URL('../../models/digits/00-label-2.json', import.meta.url));
const suri = option('suri', '//Eve');
const family = option('model', 'digits-mlp');
const timeoutMs = Number(option('timeout-ms', '120000'));

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

if (!/^wss?:\/\//.test(url)) fail(`--url must be a ws:// or wss:// address, got ${url}`);

// Tensor JSON -> the runtime API's TypedTensor: floats travel as text.
function typed(tensor) {
  const dtype = tensor.dtype.charAt(0).toUpperCase() + tensor.dtype.slice(1);
  const values = dtype.startsWith('Float') ? tensor.data.map(String) : tensor.data;
  return { name: tensor.name, dtype, shape: tensor.shape, values: { [dtype]: values }, argmax: [] };
}

const provider = new WsProvider(url, 1000);
provider.on('error', () => {}); // retried; reported below if it never connects
const connected = await Promise.race([
  provider.isReady.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), 15000)),
]);
if (!connected) fail(`cannot reach a node at ${url} (tried for 15 s)`);
const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });

// 1. The model list.
const models = await api.query.modelRegistry.models.entries();
console.log(`${models.length} model(s) on ${(await api.rpc.system.chain()).toString()}:`);
let model;
for (const [key, value] of models) {
  const info = value.unwrap();
  const id = key.args[0].toHex();
  const name = info.family.toUtf8();
  const version = `${info.version.major}.${info.version.minor}`;
  console.log(`  ${name}@${version} ${info.status.type} price ${info.price.toString()} ${id}`);
  if (name === family && info.status.isActive) model = id;
}
if (!model) fail(`no active model of family ${family}`);

// 2. The input, encoded by the runtime, and what the job costs.
const doc = JSON.parse(await readFile(inputPath, 'utf8'));
const encoded = await api.call.inferenceApi.encodeTensors(doc.tensors.map(typed));
if (encoded.isErr) fail(`${inputPath}: the chain cannot encode these tensors (${encoded.asErr.type})`);
const mode = 'Optimistic';
const quote = await api.call.inferenceApi.quote(model, mode);
if (quote.isNone) fail(`no quote for ${model}`);

// 3. Submit, and learn the job's id from the JobSubmitted event.
const signer = new Keyring({ type: 'sr25519' }).addFromUri(suri);
const job = await new Promise((resolve, reject) => {
  api.tx.inference
    .submitJob(model, encoded.asOk, quote.unwrap(), mode)
    .signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const why = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`submit_job failed: ${why}`));
      } else if (status.isInBlock || status.isFinalized) {
        // A dev node that finalizes what it seals may report Finalized only.
        const submitted = events.find(({ event }) => api.events.inference.JobSubmitted.is(event));
        if (submitted) resolve(submitted.event.data.job.toNumber());
      }
    })
    .catch(reject);
}).catch((e) => fail(e.message));
console.log(`job ${job} submitted for ${family} (max fee ${quote.unwrap().toString()})`);

// 4. Follow the chain's events until the job ends.
const ended = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
  const mine = (data) => data.job.toNumber() === job;
  api.query.system.events((records) => {
    for (const { event } of records) {
      const e = api.events.inference;
      if (e.ResultSubmitted.is(event) && mine(event.data)) {
        console.log(`job ${job} result from ${event.data.executor.toString()}, challengeable until block ${event.data.challengeUntil.toString()}`);
      } else if (e.JobSettled.is(event) && mine(event.data)) {
        clearTimeout(timer);
        resolve({ kind: 'settled', fee: event.data.fee.toString() });
      } else if (e.JobFailed.is(event) && mine(event.data)) {
        clearTimeout(timer);
        resolve({ kind: 'failed', reason: event.data.reason.toString() });
      }
    }
  });
});
if (ended.kind !== 'settled') fail(`job ${job} ${ended.kind}${ended.reason ? `: ${ended.reason}` : ''}`);

// 5. The output, typed by the runtime, with the argmax it ranks.
const output = (await api.call.inferenceApi.jobOutput(job)).unwrap();
for (const t of output) {
  console.log(`output ${t.name.toString()} ${t.dtype.type} [${t.shape.map(Number).join(',')}]`);
}
const predicted = output[0].argmax.map(Number);
console.log(`job ${job} settled: predicted ${predicted.join(',')}`);
await api.disconnect();
