// Acting for the user, end to end (part of e2e.test.mjs): Blink calls <app>/api and <app>/me for a user whose
// linked account holds the short-lived access tokens of a real OpenID Connect server that rotates refresh
// tokens (oidc-provider in a process of its own, so that it can be frozen and killed). <app>/api is proxied
// to an echo backend of this process that records what it receives; <app>/me straight to the provider's
// userinfo endpoint, "the external API", whose answer must be the linked user's claims.
//
// oidc-provider revokes the whole grant when a refresh token it has already consumed comes again: a
// module that refreshed twice with one refresh token (two requests at once, or a token it failed to keep)
// would lose the user's link. The checks below count the provider's refresh_token grants.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The provider's access tokens live this long (seconds).
const ACCESS_TTL = 8;
// BlinkAuthRefreshBefore of the act Locations: a token is fresh for ACCESS_TTL - REFRESH_BEFORE seconds (less the
// part of a second Blink's expiry drops), time for the checks that expect no refresh on a busy machine.
const REFRESH_BEFORE = 2;
// BlinkAuthTimeout of the act app: how long a frozen provider is waited for.
const TIMEOUT = 3;
// The Blink user who links an account at the act app's provider, signing in as dave.
const DAVE = { blinkUser: `u-act-${crypto.randomUUID()}`, login: 'dave' };
// A Blink user with no linked account.
const NOBODY = `u-act-none-${crypto.randomUUID()}`;
// The key of the module's sealed token copy (BlinkAuthTokenKey).
const TOKEN_KEY = crypto.randomBytes(32).toString('hex');
// The request headers the act Locations set from the module's environment variables (mod_headers), so
// that the backend shows them.
const ENV_HEADERS = {
  'x-env-user-id': 'BLINK_USER_ID',
  'x-env-auth-id': 'BLINK_AUTH_ID',
  'x-env-external-account-id': 'BLINK_EXTERNAL_ACCOUNT_ID',
  'x-env-expires': 'BLINK_ACCESS_TOKEN_EXPIRES',
};

// The act part of the suite, on the helpers and settings of e2e.test.mjs (h): start() before httpd's
// configuration is written, conf() its <VirtualHost>, checks() after the other checks, stop() at the end.
export function actSuite(h) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // What the echo backend received, in order: { method, url, headers }.
  const seen = [];
  // Every token the act provider issued (kept across its restart) and every one seen elsewhere.
  const tokens = new Set();
  let backend;
  let providerPort;
  let providerChild;
  // Whether the act provider runs and answers (not stopped, not killed).
  let providerUp = false;
  let appPort;
  let appUrl;
  let issuer;
  const state = {};

  // Start (again) the act provider on its port; resolves once it answers.
  async function startProvider() {
    const portFile = path.join(h.work, 'act-provider.port');
    fs.rmSync(portFile, { force: true });
    providerChild = h.launch('act_provider', process.execPath, [
      path.join(here, 'provider.mjs'), '--port', String(providerPort), '--port-file', portFile,
      '--client-id', h.CLIENT_ID, '--client-secret', h.CLIENT_SECRET, '--redirect-uri', `${appUrl}/callback`,
      '--access-ttl', String(ACCESS_TTL), '--rotate', '--control',
    ], `act_provider${providerChild ? '-2' : ''}.log`);
    const child = providerChild;
    await h.until('the act provider', () => {
      if (child.exited) throw h.fatal(`provider.mjs exited: ${JSON.stringify(child.exited)}`);
      return fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim();
    });
    providerUp = true;
  }

  // Send the act provider a signal; for SIGKILL, wait until it is gone.
  async function signalProvider(signal) {
    providerUp = false;
    process.kill(providerChild.pid, signal);
    if (signal === 'SIGKILL') await h.until('the act provider to die', () => providerChild.exited);
  }

  // GET one of the act provider's control lists (log or issued); the issued tokens are kept for the log check.
  async function providerControl(what) {
    const res = await fetch(`${issuer}/_control/${what}`);
    h.check(res.status === 200, `act provider /_control/${what} answered ${res.status}`);
    const list = await res.json();
    if (what === 'issued') for (const t of list) keep(t.accessToken, t.refreshToken);
    return list;
  }

  // The refresh_token grants the act provider answered so far (since its last start).
  const refreshes = async () => (await providerControl('log'))
    .filter((e) => e.route === 'token' && e.grantType === 'refresh_token');

  // Remember tokens for the log check.
  function keep(...values) {
    for (const v of values) if (typeof v === 'string' && v.length > 0) tokens.add(v);
  }

  // dave's linked account in the fake Blink (the only one the act app has), its tokens kept.
  async function account() {
    const mine = (await h.blinkAccounts()).filter((a) => a.user_id === DAVE.blinkUser);
    h.check(mine.length === 1, `dave's accounts in Blink: ${JSON.stringify(mine)}`);
    keep(mine[0].access_token, mine[0].refresh_token);
    return mine[0];
  }

  // Blink's call to the act app at rest as user (the proxy secret and user id headers, plus headers).
  async function act(rest, { user = DAVE.blinkUser, secret = h.PROXY_SECRET, headers = {} } = {}) {
    const res = await fetch(`${appUrl}${rest}`, {
      redirect: 'manual',
      headers: { 'blink-auth-proxysecret': secret, 'blink-auth-userid': user, ...headers },
    });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body, type: res.headers.get('content-type') };
  }

  // The bearer token of a request the backend received (null without one).
  function bearer(entry) {
    const m = /^Bearer (\S+)$/.exec(entry.headers.authorization ?? '');
    if (m) keep(m[1]);
    return m ? m[1] : null;
  }

  // Call the act provider's token introspection (as the module's client, allowed to look at its own tokens).
  async function introspect(token) {
    const res = await fetch(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: h.basic(h.CLIENT_ID, h.CLIENT_SECRET), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    h.check(res.status === 200, `introspection answered ${res.status}`);
    return res.json();
  }

  // Wait until the access token of account (as Blink holds it) has expired: its expiry has passed, so the module
  // must take it for stale, and the act provider no longer takes it (its userinfo answers 401).
  async function expired(a) {
    let last;
    await h.until('the access token to expire', async () => {
      if (Date.now() <= Date.parse(a.expiry)) return false;
      const res = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${a.access_token}` } });
      last = `${res.status} ${await res.text()}`;
      return res.status === 401;
    }, (ACCESS_TTL + 10) * 1000).catch((err) => {
      throw new Error(`${err.message} (expiry ${a.expiry}; userinfo with it answers ${last})`);
    });
  }

  // Blink connects dave to the act app through the browser; resolves to his saved account.
  async function connect() {
    const start = await h.connectStart(DAVE.blinkUser, appUrl);
    const page = await h.newUser();
    const s = await h.openStart(page, start);
    h.check(s.start.status() === 303, `start URL answered ${s.start.status()}`);
    await h.signIn(page, DAVE.login);
    const { res, text } = await h.consent(page, appUrl);
    await page.context().close();
    h.check(res.status() === 200 && text.includes('Connected as'), `${res.status()}: ${text}`);
    return account();
  }

  // What the fake Blink holds for dave, and its Update calls so far: to compare before and after.
  async function blinkSnapshot() {
    return { account: JSON.stringify(await account()), updates: await h.blinkRequests('update') };
  }

  // Check that the act app answered r with the error envelope status/code and sent nothing to the backend.
  function checkRefused(r, status, code, seenBefore) {
    h.check(r.status === status && r.body?.code === code && typeof r.body?.message === 'string',
      `${r.status} ${JSON.stringify(r.body)}`);
    h.check(/^application\/json/.test(r.type ?? ''), `Content-Type ${r.type}`);
    h.check(seen.length === seenBefore, `the backend received ${JSON.stringify(seen.slice(seenBefore))}`);
  }

  return {
    async start() {
      for (const f of ['httpd_act_error.log', 'httpd_act_access.log']) fs.rmSync(path.join(h.out, f), { force: true });
      appPort = await h.freePort();
      appUrl = `http://127.0.0.1:${appPort}/blink`;
      providerPort = await h.freePort();
      issuer = `http://127.0.0.1:${providerPort}`;
      const backendPort = await h.freePort();
      backend = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          seen.push({ method: req.method, url: req.url, headers: req.headers });
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ backend: 'echo', url: req.url }));
        });
      });
      await new Promise((resolve, reject) => {
        backend.once('error', reject);
        backend.listen(backendPort, '127.0.0.1', resolve);
      });
      state.backendUrl = `http://127.0.0.1:${backendPort}`;
      fs.writeFileSync(path.join(h.work, 'token-key'), `${TOKEN_KEY}\n`, { mode: 0o600 });
      await startProvider();
    },

    conf() {
      const endpoints = h.endpointLines({
        authorize: `${issuer}/auth`, token: `${issuer}/token`, userinfo: `${issuer}/me`, revoke: `${issuer}/token/revocation`,
      });
      const envHeaders = Object.entries(ENV_HEADERS).map(([name, v]) => `        RequestHeader set ${name} "%{${v}}e"`);
      // An AuthType Blink Location below the app's: `where` proxied to `to`.
      const acting = (where, to, own = []) => [`    <Location "/blink${where}">`, '        AuthType Blink',
        '        Require blink-linked-account', `        BlinkAuthRefreshBefore ${REFRESH_BEFORE}`, ...own,
        `        ProxyPass "${to}"`, '    </Location>'].join('\n');
      return `# Acting for the user (act.mjs): its own provider (${ACCESS_TTL} s access tokens, rotation), a sealed
# token copy, <app>/api to the echo backend, <app>/me to the provider's userinfo.
Listen 127.0.0.1:${appPort}
<VirtualHost 127.0.0.1:${appPort}>
    ServerName 127.0.0.1
    ErrorLog "${h.out}/httpd_act_error.log"
    CustomLog "${h.out}/httpd_act_access.log" "%u \\"%r\\" %>s"
${h.app([...endpoints, `BlinkAuthTimeout ${TIMEOUT}`, `BlinkAuthTokenKey file:${h.work}/token-key`])}
${acting('/api', `${state.backendUrl}/v1`, envHeaders)}
${acting('/me', `${issuer}/me`)}
</VirtualHost>`;
    },

    async stop() {
      if (backend) await new Promise((resolve) => { backend.close(resolve); backend.closeAllConnections?.(); });
    },

    async checks() {
      const { test, check } = h;

      await test(`act: dave connects his account at the act app in the browser (its provider: ${ACCESS_TTL} s access tokens, refresh-token rotation)`, async () => {
        const a = await connect();
        check(a.auth_id === h.AUTH_ID && a.access_token?.length > 20 && a.refresh_token?.length > 20
          && a.reauth_required !== true, `account: ${JSON.stringify(a)}`);
        state.account = a;
        state.listsAfterConnect = await h.blinkRequests('list');
      });

      await test('act: a fresh token: the backend gets Authorization: Bearer <Blink\'s access token>, never the proxy secret nor a blink-auth-* header; the env vars; no refresh', async () => {
        check(state.account, 'needs the connect');
        const before = { seen: seen.length, refreshes: (await refreshes()).length };
        const r = await act('/api/things/1?x=%C3%A9&y=2', {
          headers: { authorization: 'Basic bm90OnRoaXM=', 'blink-auth-extra': 'from-blink', 'x-kept': 'kept' },
        });
        check(r.status === 200 && r.body?.backend === 'echo', `${r.status} ${JSON.stringify(r.body)}`);
        const got = seen.slice(before.seen);
        check(got.length === 1 && got[0].url === '/v1/things/1?x=%C3%A9&y=2', `backend: ${JSON.stringify(got)}`);
        const { headers } = got[0];
        check(bearer(got[0]) === state.account.access_token, `Authorization ${headers.authorization}`);
        const leaked = Object.entries(headers).filter(([k, v]) => k.startsWith('blink-auth-') || String(v).includes(h.PROXY_SECRET));
        check(leaked.length === 0, `the backend got ${JSON.stringify(leaked)}`);
        check(headers['x-kept'] === 'kept', 'another header of Blink\'s request was not passed on');
        const env = Object.fromEntries(Object.keys(ENV_HEADERS).map((k) => [k, headers[k]]));
        check(env['x-env-user-id'] === DAVE.blinkUser && env['x-env-auth-id'] === h.AUTH_ID
          && env['x-env-external-account-id'] === state.account.external_account_id
          && env['x-env-expires'] === state.account.expiry, `env vars: ${JSON.stringify(env)}, account ${JSON.stringify(state.account)}`);
        check((await refreshes()).length === before.refreshes, 'the module refreshed a fresh token');
      });

      await test('act: the access log names the Blink user (%u)', async () => {
        check(state.account, 'needs the connect');
        const log = path.join(h.out, 'httpd_act_access.log');
        await h.until('the access log line', () => fs.existsSync(log)
          && fs.readFileSync(log, 'utf8').includes(`${DAVE.blinkUser} "GET /blink/api/things/1?x=%C3%A9&y=2 HTTP/1.1" 200`));
      });

      await test('act: <app>/me, proxied to the provider\'s userinfo, answers dave\'s claims', async () => {
        check(state.account, 'needs the connect');
        const r = await act('/me');
        check(r.status === 200 && r.body?.sub === DAVE.login && r.body?.email === 'dave@example.test',
          `${r.status} ${JSON.stringify(r.body)}`);
      });

      await test('act: with BlinkAuthTokenKey, actions after the connect read the sealed copy: no List call', async () => {
        check(state.listsAfterConnect !== undefined, 'needs the connect');
        for (let i = 0; i < 3; i += 1) check((await act('/api/copy')).status === 200, 'action failed');
        const lists = await h.blinkRequests('list');
        check(lists === state.listsAfterConnect, `List calls since the connect: ${lists - state.listsAfterConnect}`);
      });

      await test('act: expired: one refresh_token grant; the rotated refresh token saved in Blink (Update); the backend gets the new token', async () => {
        check(state.account, 'needs the connect');
        const old = await account();
        await expired(old);
        const before = { seen: seen.length, refreshes: (await refreshes()).length, updates: await h.blinkRequests('update') };
        const r = await act('/api/after-expiry');
        check(r.status === 200, `${r.status} ${JSON.stringify(r.body)}`);
        const grants = (await refreshes()).slice(before.refreshes);
        check(grants.length === 1 && grants[0].status === 200 && grants[0].authScheme === 'Basic',
          `refresh grants: ${JSON.stringify(grants)}`);
        const now = await account();
        check(now.access_token !== old.access_token && now.refresh_token !== old.refresh_token,
          'Blink holds the old tokens');
        check(Date.parse(now.expiry) > Date.parse(old.expiry) && now.reauth_required !== true, `account: ${JSON.stringify(now)}`);
        const last = (await providerControl('issued')).at(-1);
        check(last.grantType === 'refresh_token' && last.accessToken === now.access_token
          && last.refreshToken === now.refresh_token, 'Blink does not hold the tokens of the refresh');
        check(await h.blinkRequests('update') === before.updates + 1, 'not one Update in Blink');
        const got = seen.slice(before.seen);
        check(got.length === 1 && bearer(got[0]) === now.access_token, `backend: ${got.map((e) => e.headers.authorization)}`);
        check((await introspect(old.refresh_token)).active === false, 'the old refresh token is still active');
        check((await introspect(now.access_token)).active === true, 'the new access token is not active');
        state.refreshed = now;
      });

      await test('act: the next actions use the sealed copy of the refreshed token: no List, no refresh, the new token', async () => {
        check(state.refreshed, 'needs the refresh');
        const before = { seen: seen.length, refreshes: (await refreshes()).length, lists: await h.blinkRequests('list') };
        for (let i = 0; i < 2; i += 1) check((await act('/api/again')).status === 200, 'action failed');
        check(await h.blinkRequests('list') === before.lists, 'a List call');
        check((await refreshes()).length === before.refreshes, 'a refresh');
        const got = seen.slice(before.seen);
        check(got.length === 2 && got.every((e) => bearer(e) === state.refreshed.access_token),
          `backend: ${got.map((e) => e.headers.authorization)}`);
      });

      await test('act: 20 concurrent actions with an expired token: 20 × 200, exactly one refresh at the provider, one token for all; the grant survives', async () => {
        check(state.account, 'needs the connect');
        const old = await account();
        await expired(old);
        const before = { seen: seen.length, refreshes: (await refreshes()).length };
        const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => act(`/api/burst/${i}`)));
        const statuses = answers.map((r) => r.status);
        check(statuses.every((s) => s === 200), `statuses ${statuses.join(' ')}: ${JSON.stringify(answers.find((r) => r.status !== 200)?.body)}`);
        const grants = (await refreshes()).slice(before.refreshes);
        check(grants.length === 1 && grants[0].status === 200, `refresh grants: ${JSON.stringify(grants)}`);
        const now = await account();
        const got = seen.slice(before.seen);
        const used = [...new Set(got.map(bearer))];
        check(got.length === 20 && used.length === 1 && used[0] === now.access_token && now.access_token !== old.access_token,
          `backend got ${got.length} requests with ${used.length} tokens`);
        // A second refresh with the consumed refresh token would have revoked the whole grant.
        check((await introspect(now.access_token)).active === true && (await introspect(now.refresh_token)).active === true,
          'the grant was revoked (a consumed refresh token was used again)');
      });

      await test('act: the provider frozen (SIGSTOP): 504 UPSTREAM_TIMEOUT after BlinkAuthTimeout; nothing changed in Blink, nothing sent on', async () => {
        check(state.account, 'needs the connect');
        await expired(await account());
        await providerControl('issued');
        const before = { blink: await blinkSnapshot(), seen: seen.length };
        await signalProvider('SIGSTOP');
        state.stopped = true;
        const r = await act('/api/frozen');
        checkRefused(r, 504, 'UPSTREAM_TIMEOUT', before.seen);
        const after = await blinkSnapshot();
        check(JSON.stringify(after) === JSON.stringify(before.blink), `Blink before ${JSON.stringify(before.blink)}, after ${JSON.stringify(after)}`);
      });

      await test('act: the provider gone (killed): 502 UPSTREAM_ERROR; nothing changed in Blink, nothing sent on', async () => {
        check(state.stopped, 'needs the frozen provider');
        const before = { blink: await blinkSnapshot(), seen: seen.length };
        // Killed while stopped: it never reads the refresh request the module gave up on.
        await signalProvider('SIGKILL');
        const r = await act('/api/gone');
        checkRefused(r, 502, 'UPSTREAM_ERROR', before.seen);
        const after = await blinkSnapshot();
        check(JSON.stringify(after) === JSON.stringify(before.blink), `Blink before ${JSON.stringify(before.blink)}, after ${JSON.stringify(after)}`);
        await startProvider();
        state.restarted = true;
      });

      await test('act: the provider restarted without its grants: invalid_grant → 401 REAUTH_REQUIRED, reauth_required true in Blink; then no call to the provider', async () => {
        check(state.restarted, 'needs the restarted provider');
        const seenBefore = seen.length;
        const r = await act('/api/forgotten');
        checkRefused(r, 401, 'REAUTH_REQUIRED', seenBefore);
        const grants = await refreshes();
        check(grants.length === 1 && grants[0].status === 400 && grants[0].error === 'invalid_grant', `refresh grants: ${JSON.stringify(grants)}`);
        check((await account()).reauth_required === true, 'reauth_required is not true in Blink');
        checkRefused(await act('/me'), 401, 'REAUTH_REQUIRED', seenBefore);
        const calls = (await providerControl('log')).filter((e) => e.route === 'token' || e.route === 'userinfo');
        check(calls.length === 1, `the provider was called again: ${JSON.stringify(calls)}`);
      });

      await test('act: a new connect in the browser clears reauth_required; actions work again with its token', async () => {
        check(state.restarted, 'needs the restarted provider');
        const a = await connect();
        check(a.reauth_required === false, `account: ${JSON.stringify(a)}`);
        const seenBefore = seen.length;
        const r = await act('/api/reconnected');
        check(r.status === 200, `${r.status} ${JSON.stringify(r.body)}`);
        const now = await account();
        check(seen.length === seenBefore + 1 && bearer(seen.at(-1)) === now.access_token, 'the backend did not get Blink\'s token');
        state.reconnected = now;
      });

      await test('act: the refresh token revoked at the provider: 401 REAUTH_REQUIRED once expired, reauth_required true in Blink, nothing sent on', async () => {
        check(state.reconnected, 'needs the new connect');
        const linked = await account();
        const rt = linked.refresh_token;
        const res = await fetch(`${issuer}/token/revocation`, {
          method: 'POST',
          headers: { authorization: h.basic(h.CLIENT_ID, h.CLIENT_SECRET), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: rt, token_type_hint: 'refresh_token' }),
        });
        check(res.status === 200 && (await introspect(rt)).active === false, `revocation answered ${res.status}`);
        // oidc-provider revokes every token of the grant with its refresh token: the access token is dead at once,
        // but the module cannot know it before its expiry.
        await expired(linked);
        const before = { seen: seen.length, refreshes: (await refreshes()).length };
        const r = await act('/api/revoked');
        checkRefused(r, 401, 'REAUTH_REQUIRED', before.seen);
        const grants = (await refreshes()).slice(before.refreshes);
        check(grants.length === 1 && grants[0].error === 'invalid_grant', `refresh grants: ${JSON.stringify(grants)}`);
        check((await account()).reauth_required === true, 'reauth_required is not true in Blink');
      });

      await test('act: Blink\'s call with a wrong proxy secret: 401 UNAUTHORIZED; for a user without a linked account: 403 NOT_LINKED; the backend gets neither', async () => {
        const seenBefore = seen.length;
        checkRefused(await act('/api/x', { secret: `${h.PROXY_SECRET}x` }), 401, 'UNAUTHORIZED', seenBefore);
        checkRefused(await act('/api/x', { user: NOBODY }), 403, 'NOT_LINKED', seenBefore);
      });

      await test('act: at LogLevel blinkauth:trace8, no token the providers issued or the backend got, and no secret, is in httpd\'s error logs', async () => {
        if (providerUp) await providerControl('issued');
        for (const t of h.issuedElsewhere()) keep(t.accessToken, t.refreshToken);
        for (const a of await h.blinkAccounts()) keep(a.access_token, a.refresh_token);
        for (const e of seen) bearer(e);
        check(tokens.size >= 10, `only ${tokens.size} tokens collected`);
        const logs = ['httpd_error.log', 'httpd_act_error.log'].map((f) => fs.readFileSync(path.join(h.out, f), 'utf8'));
        const text = logs.join('\n');
        check(/BLA009\d\d/.test(logs[1]), 'the act error log has no line of the feature (BLA009xx): is the log the right one?');
        const secrets = [h.PROXY_SECRET, h.CLIENT_SECRET, h.API_TOKEN, TOKEN_KEY];
        const found = [...tokens, ...secrets].filter((t) => text.includes(t));
        check(found.length === 0, `in the error log: ${found.map((t) => `${t.slice(0, 6)}…`).join(', ')}`);
      });
    },
  };
}
