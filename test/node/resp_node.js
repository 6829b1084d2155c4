// Real Node Redis clients against nodedb_kv's RESP port, with their defaults (node-redis 6 and ioredis
// 6 open every connection with HELLO 3).  Driven by test/t/060_resp_node.pl and 061_resp_tracking.pl:
//   node resp_node.js clients <port>          strings, pipelines, pub/sub, RESP2 and RESP3 side by side
//   node resp_node.js cache <port> <psql...>  node-redis clientSideCache: a cached value invalidated by a
//                                             SQL UPDATE, another RESP client and expiry (test clock)
// Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.
'use strict';
const { spawnSync } = require('child_process');
const { createClient } = require('redis');
const Redis = require('ioredis');

const [mode, portArg, ...psql] = process.argv.slice(2);
const port = Number(portArg);

function ok(name, cond, detail) {
	console.log(cond ? `ok ${name}` : `not ok ${name}: ${detail === undefined ? '' : JSON.stringify(detail)}`);
}

function sql(query) {
	const r = spawnSync(psql[0], psql.slice(1).concat(['-At', '-v', 'ON_ERROR_STOP=1', '-c', query]), { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`psql failed: ${query}: ${r.stderr}`);
	return r.stdout.trim();
}

function withTimeout(promise, ms, what) {
	let timer;
	return Promise.race([
		promise,
		new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
	]).finally(() => clearTimeout(timer));
}

function respOf(info) {
	const m = /resp=(\d)/.exec(String(info));
	return m ? m[1] : info;
}

async function nodeRedis() {
	const client = createClient({ socket: { host: '127.0.0.1', port } });
	client.on('error', () => {});
	await client.connect();
	ok('node-redis connects with its defaults (HELLO 3)', respOf(await client.sendCommand(['CLIENT', 'INFO'])) === '3');
	await client.del(['nr:a', 'nr:n']);
	ok('node-redis SET', (await client.set('nr:a', 'hello')) === 'OK');
	ok('node-redis GET', (await client.get('nr:a')) === 'hello');
	ok('node-redis SET NX on an existing key', (await client.set('nr:a', 'x', { condition: 'NX' })) === null);
	ok('node-redis INCRBY', (await client.incrBy('nr:n', 41)) === 41 && (await client.incr('nr:n')) === 42);
	ok('node-redis MGET with a missing key', JSON.stringify(await client.mGet(['nr:a', 'nr:none', 'nr:n'])) ===
		JSON.stringify(['hello', null, '42']));
	ok('node-redis EXPIRE and TTL', (await client.expire('nr:a', 100)) === 1 && (await client.ttl('nr:a')) > 90);
	ok('node-redis GET of a missing key is null', (await client.get('nr:none')) === null);
	const pipe = await client.multi().set('nr:p1', '1').incr('nr:p1').get('nr:p1').del('nr:p1').execAsPipeline();
	ok('node-redis pipeline (execAsPipeline)', JSON.stringify(pipe) === JSON.stringify(['OK', 2, '2', 1]), pipe);
	const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.set(`nr:k${i}`, String(i))));
	const back = await Promise.all(Array.from({ length: 200 }, (_, i) => client.get(`nr:k${i}`)));
	ok('node-redis 200 auto-pipelined SET/GET', many.every((r) => r === 'OK') && back.every((v, i) => v === String(i)));
	// Pub/sub on a RESP3 connection: push frames, and ordinary commands still work while subscribed.
	const sub = client.duplicate();
	sub.on('error', () => {});
	await sub.connect();
	const got = [];
	let notify;
	const arrived = new Promise((resolve) => { notify = resolve; });
	await sub.subscribe('nr:news', (message, channel) => {
		got.push([channel, message]);
		if (got.length === 2) notify();
	});
	ok('node-redis PUBLISH counts the subscriber', (await client.publish('nr:news', 'one')) === 1);
	await client.publish('nr:news', 'two');
	await withTimeout(arrived, 10000, 'pub/sub messages');
	ok('node-redis subscriber receives the messages in order',
		JSON.stringify(got) === JSON.stringify([['nr:news', 'one'], ['nr:news', 'two']]), got);
	ok('node-redis RESP3 subscriber runs GET while subscribed', (await sub.get('nr:n')) === '42');
	await sub.unsubscribe('nr:news');
	await sub.quit();
	// RESP2 beside RESP3 on the same port.
	const two = createClient({ socket: { host: '127.0.0.1', port }, RESP: 2 });
	two.on('error', () => {});
	await two.connect();
	ok('node-redis RESP: 2 connection is RESP2', respOf(await two.sendCommand(['CLIENT', 'INFO'])) === '2');
	await two.set('nr:both', 'from resp2');
	ok('a RESP3 client reads what a RESP2 client wrote', (await client.get('nr:both')) === 'from resp2');
	await client.set('nr:both', 'from resp3');
	ok('a RESP2 client reads what a RESP3 client wrote', (await two.get('nr:both')) === 'from resp3');
	await two.quit();
	await client.quit();
}

async function ioredis() {
	const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
	await client.connect();
	ok('ioredis connects with its defaults (HELLO 3)', respOf(await client.call('CLIENT', 'INFO')) === '3');
	await client.del('io:a', 'io:n');
	ok('ioredis SET/GET', (await client.set('io:a', 'v')) === 'OK' && (await client.get('io:a')) === 'v');
	ok('ioredis SET with EX and NX', (await client.set('io:b', '1', 'EX', 100, 'NX')) === 'OK' &&
		(await client.set('io:b', '2', 'EX', 100, 'NX')) === null);
	ok('ioredis INCR/DECRBY', (await client.incr('io:n')) === 1 && (await client.decrby('io:n', 5)) === -4);
	const res = await client.pipeline().set('io:p', 'x').append('io:p', 'yz').get('io:p').strlen('io:p').exec();
	ok('ioredis pipeline', JSON.stringify(res) === JSON.stringify([[null, 'OK'], [null, 3], [null, 'xyz'], [null, 3]]), res);
	const sub = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
	await sub.connect();
	const arrived = new Promise((resolve) => sub.on('message', (channel, message) => resolve([channel, message])));
	await sub.subscribe('io:news');
	ok('ioredis PUBLISH counts the subscriber', (await client.publish('io:news', 'hi')) === 1);
	const msg = await withTimeout(arrived, 10000, 'ioredis message');
	ok('ioredis subscriber receives the message', JSON.stringify(msg) === JSON.stringify(['io:news', 'hi']), msg);
	sub.disconnect();
	const two = new Redis({ host: '127.0.0.1', port, lazyConnect: true, protocol: 2 });
	await two.connect();
	ok('ioredis protocol: 2 connection is RESP2', respOf(await two.call('CLIENT', 'INFO')) === '2');
	await two.set('io:both', 'two');
	ok('RESP2 and RESP3 ioredis clients see each other', (await client.get('io:both')) === 'two');
	two.disconnect();
	client.disconnect();
}

// Resolves with the next key the cache is told to invalidate (null: everything).
function nextInvalidation(cache) {
	return new Promise((resolve) => cache.once('invalidate', (key) => resolve(key === null ? null : String(key))));
}

async function cache() {
	const client = createClient({ socket: { host: '127.0.0.1', port }, clientSideCache: { ttl: 0, maxEntries: 0 } });
	client.on('error', () => {});
	await client.connect();
	const csc = client.clientSideCache;
	const writer = createClient({ socket: { host: '127.0.0.1', port } });
	writer.on('error', () => {});
	await writer.connect();
	await writer.set('csc:k', 'v1');
	ok('clientSideCache: first GET reads the server', (await client.get('csc:k')) === 'v1');
	ok('clientSideCache: second GET is served from the cache',
		(await client.get('csc:k')) === 'v1' && csc.stats().hitCount === 1, csc.stats());
	let inv = nextInvalidation(csc);
	sql("UPDATE kv_db0 SET value = 'v2' WHERE key = 'csc:k'");
	ok('clientSideCache: a SQL UPDATE invalidates the cached key', (await withTimeout(inv, 10000, 'SQL')) === 'csc:k');
	ok('clientSideCache: the next GET returns the value SQL wrote', (await client.get('csc:k')) === 'v2');
	inv = nextInvalidation(csc);
	await writer.set('csc:k', 'v3');
	ok('clientSideCache: another RESP client\'s SET invalidates', (await withTimeout(inv, 10000, 'SET')) === 'csc:k');
	ok('clientSideCache: the next GET returns the new value', (await client.get('csc:k')) === 'v3');
	await writer.set('csc:e', 'soon gone', { EX: 30 });
	ok('clientSideCache: GET of a key with a TTL', (await client.get('csc:e')) === 'soon gone');
	await client.get('csc:e');
	inv = nextInvalidation(csc);
	sql("ALTER SYSTEM SET nodedb_kv.test_clock_offset = '60s'");
	sql('SELECT pg_reload_conf()');
	ok('clientSideCache: expiry invalidates the cached key', (await withTimeout(inv, 30000, 'expiry')) === 'csc:e');
	ok('clientSideCache: the expired key reads as missing', (await client.get('csc:e')) === null);
	sql('ALTER SYSTEM RESET nodedb_kv.test_clock_offset');
	sql('SELECT pg_reload_conf()');
	await writer.quit();
	await client.quit();
}

(async () => {
	try {
		if (mode === 'clients') {
			await nodeRedis();
			await ioredis();
		} else if (mode === 'cache') {
			await cache();
		} else {
			throw new Error(`unknown mode ${mode}`);
		}
	} catch (e) {
		ok(`${mode} checks ran to the end`, false, String(e && e.stack || e));
	}
	process.exit(0);
})();
