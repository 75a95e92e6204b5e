// Child process for the sqlite crash test: writes, reports the acknowledged revision, then
// waits to be killed with SIGKILL.
import { SqliteStore } from '../../src/storage/sqlite.js';

const [path, countArg] = process.argv.slice(2);
const store = new SqliteStore(path);
const n = Number(countArg);
const results = await Promise.all(Array.from({ length: n }, (_, i) => store.create(`/registry/crash/k${i}`, String(i))));
const last = await store.update('/registry/crash/k0', 'updated', results[0].modRevision);
process.stdout.write(`acked ${last.modRevision}\n`);
setInterval(() => {}, 1000); // stay alive until killed
