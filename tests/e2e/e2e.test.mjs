// mod_blinkauth end to end: a real OpenID Connect server (oidc-provider, in this process), the
// fake Blink API (tests/fakes/fake_blink.py), Debian's httpd with the module as built, and a
// user in headless Chromium (playwright-core). This script plays Blink's servers. Acting for the
// user (AuthType Blink, token refresh) has its own provider process, backend and virtual host: act.mjs.
//
//   node e2e.test.mjs        (tests/e2e/run.sh installs the npm packages first)
//
// Prints one line per check and ends with "e2e: N passed, N failed". Screenshots of what the
// user sees go to tests/out/e2e/ on every run; so do the logs of httpd and the fake Blink.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { actSuite } from './act.mjs';
import { accountClaims, startProvider } from './provider.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const out = path.join(top, 'tests/out/e2e');
const work = path.join(out, 'work');
const module = path.join(top, '.libs/mod_blinkauth.so');
const apache = process.env.APACHE2 ?? '/usr/sbin/apache2';
const apacheModules = '/usr/lib/apache2/modules';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const pidFile = path.join(out, 'pids');
const isRoot = process.getuid?.() === 0;

const AUTH_ID = 'a-e2e-1';
const PROXY_SECRET = crypto.randomBytes(16).toString('hex');
const API_TOKEN = crypto.randomBytes(16).toString('hex');
const CLIENT_ID = 'mod-blinkauth-e2e';
const CLIENT_SECRET = crypto.randomBytes(16).toString('hex');
const INSPECTOR = { clientId: 'e2e-inspector', clientSecret: crypto.randomBytes(16).toString('hex') };
// Blink user ids are opaque; bob's has a space and a non-ASCII letter (sent as UTF-8).
const ALICE = { blinkUser: `u-${crypto.randomUUID()}`, login: 'alice' };
const BOB = { blinkUser: 'u-bob é 2', login: 'bob' };
// The user of the app configured by discovery alone (BlinkAuthProviderMetadataURL).
const CAROL = { blinkUser: `u-${crypto.randomUUID()}`, login: 'carol' };
// What Blink's Get User tells of alice (POST /_control/users), for the app with BlinkAuthMatchEmail On. The
// e-mail differs in case only from the one oidc-provider gives alice (the match ignores case).
const ALICE_PROFILE = { email: 'Alice@Example.TEST', first_name: 'Alice', last_name: 'Liddell' };
// The BlinkAuthServiceName of that app.
const MATCH_SERVICE = 'Example ID';

// A header value as UTF-8 bytes (fetch sends each character of a header value as one byte).
const utf8Header = (s) => Buffer.from(s, 'utf8').toString('latin1');

// ---------------------------------------------------------------- small helpers

const children = [];

// Remember a process this run started, so that run.sh can end it even if node dies.
function track(pid, what) {
  fs.appendFileSync(pidFile, `${pid} ${what}\n`);
}

// Spawn a helper process, logging its output to a file under tests/out/e2e.
function launch(what, cmd, args, logName) {
  const log = fs.openSync(path.join(out, logName), 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  children.push({ what, child });
  track(child.pid, what);
  child.on('exit', (code, signal) => { child.exited = { code, signal }; });
  return child;
}

// Port 0 (any), or the port itself when it was free a moment ago on 127.0.0.1; null when it was taken.
function bindable(port) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (err) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    s.listen(port, '127.0.0.1', () => { const bound = s.address().port; s.close(() => resolve(bound)); });
  });
}

// E2E_PORTS=LOW-HIGH: the loopback ports httpd, the act provider and the backend take (one after the other);
// without it, ports the system hands out.
const portRange = /^(\d+)-(\d+)$/.exec(process.env.E2E_PORTS ?? '');
let nextPort = portRange ? Number(portRange[1]) : 0;

// A port that was free a moment ago on 127.0.0.1 (of E2E_PORTS when set).
async function freePort() {
  if (!portRange) return bindable(0);
  for (; nextPort <= Number(portRange[2]); nextPort += 1) {
    const port = await bindable(nextPort);
    if (port) { nextPort += 1; return port; }
  }
  throw new Error(`E2E_PORTS=${process.env.E2E_PORTS}: no free port left`);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Wait until fn() returns a truthy value (or throw after ms).
async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (err.fatal) throw err;
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// An error that until() does not retry.
function fatal(message) {
  return Object.assign(new Error(message), { fatal: true });
}

// Throw unless cond, with a message that says what was expected.
function check(cond, message) {
  if (!cond) throw new Error(message);
}

const basic = (id, secret) => `Basic ${Buffer.from(
  `${encodeURIComponent(id)}:${encodeURIComponent(secret)}`,
).toString('base64')}`;

// Ask the provider's introspection endpoint about a token (as the inspector client).
async function introspect(provider, token) {
  const res = await fetch(provider.endpoints.introspect, {
    method: 'POST',
    headers: {
      authorization: basic(INSPECTOR.clientId, INSPECTOR.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  });
  check(res.status === 200, `introspection answered ${res.status}`);
  return res.json();
}

// Call the provider's userinfo endpoint with a bearer token: { status, body }.
async function userinfo(provider, token) {
  const res = await fetch(provider.endpoints.userinfo, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

// ---------------------------------------------------------------- the system under test

let provider;
let blinkPort;
let httpPort;
let browser;
let proxyUrl;
let discPort;
let discUrl;
let matchPort;
let matchUrl;
// The token endpoint's successful answers (access, refresh and ID token), in order, as oidc-provider sent them.
let issued;

// Play one call of Blink's servers to the module: { status, body } (body parsed when JSON).
async function blinkCalls(method, rest, blinkUser, secret = PROXY_SECRET, base = proxyUrl) {
  const res = await fetch(`${base}${rest}`, {
    method,
    redirect: 'manual',
    headers: { 'blink-auth-proxysecret': secret, 'blink-auth-userid': utf8Header(blinkUser) },
  });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, type: res.headers.get('content-type') };
}

// Everything the fake Blink holds.
async function blinkAccounts() {
  const res = await fetch(`http://127.0.0.1:${blinkPort}/_control/accounts`);
  check(res.status === 200, `fake Blink /_control/accounts answered ${res.status}`);
  return res.json();
}

// Tell the fake Blink's Get User about users: { user_id: { email, first_name, last_name } }.
async function blinkUsers(users) {
  const res = await fetch(`http://127.0.0.1:${blinkPort}/_control/users`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(users),
  });
  check(res.status === 200, `fake Blink /_control/users answered ${res.status}`);
}

// The number of calls of one route (list, update, ...) the fake Blink has received so far.
async function blinkRequests(route) {
  const res = await fetch(`http://127.0.0.1:${blinkPort}/_control/requests?route=${route}`);
  check(res.status === 200, `fake Blink /_control/requests answered ${res.status}`);
  return (await res.json()).length;
}

// The number of calls to one of the provider's back-channel endpoints so far.
const calls = (route) => provider.log.filter((e) => e.route === route).length;

// The claims of a JWT (not verified: the test reads what oidc-provider itself issued).
const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

// The BlinkAuth*URL lines of a provider's endpoints ({ authorize, token, userinfo, revoke }), set explicitly.
const endpointLines = (e) => [`BlinkAuthAuthorizeURL ${e.authorize}`, `BlinkAuthTokenURL ${e.token}`,
  `BlinkAuthUserInfoURL ${e.userinfo}`, `BlinkAuthRevokeURL ${e.revoke}`];

// One app's <Location "/blink">: the Blink settings and the client every app here shares, then its own lines.
const app = (own) => ['<Location "/blink">', 'SetHandler blinkauth', `BlinkAuthID ${AUTH_ID}`,
  `BlinkAuthProxySecret "${PROXY_SECRET}"`, `BlinkAuthAPIToken file:${work}/api-token`,
  `BlinkAuthAPIURL http://127.0.0.1:${blinkPort}`, `BlinkAuthClientID ${CLIENT_ID}`,
  `BlinkAuthClientSecret "${CLIENT_SECRET}"`, 'BlinkAuthScope "openid email offline_access"',
  'BlinkAuthAccountIDClaim email', ...own]
  .map((line, k) => (k === 0 ? line : `    ${line}`)).join('\n') + '\n</Location>';

// The httpd configuration of this run: the module against the provider and the fake Blink.
function httpdConf() {
  const endpoints = endpointLines(provider.endpoints);
  return `# Generated by tests/e2e/e2e.test.mjs for one run.
ServerRoot "${work}"
ServerName 127.0.0.1
Listen 127.0.0.1:${httpPort}
PidFile "${work}/httpd.pid"
DefaultRuntimeDir "${work}"
ErrorLog "${out}/httpd_error.log"
# The most the module logs: no token or secret may appear in it even so (checked at the end).
LogLevel info blinkauth:trace8
DocumentRoot "${work}"
LoadModule mpm_event_module ${apacheModules}/mod_mpm_event.so
LoadModule authn_core_module ${apacheModules}/mod_authn_core.so
LoadModule authz_core_module ${apacheModules}/mod_authz_core.so
LoadModule socache_shmcb_module ${apacheModules}/mod_socache_shmcb.so
LoadModule proxy_module ${apacheModules}/mod_proxy.so
LoadModule proxy_http_module ${apacheModules}/mod_proxy_http.so
LoadModule headers_module ${apacheModules}/mod_headers.so
LoadModule blinkauth_module "${module}"
${isRoot ? 'User www-data\nGroup www-data' : ''}
CustomLog "${out}/httpd_access.log" "%h \\"%r\\" %>s %b %Dus"
AllowEncodedSlashes NoDecode
BlinkAuthCache shmcb

# Each app in a virtual host of its own: one server takes each Auth ID once, and the fake Blink knows one.
<VirtualHost 127.0.0.1:${httpPort}>
${app([...endpoints, 'BlinkAuthTimeout 10'])}
</VirtualHost>

# The same app configured by discovery alone: no endpoint URL, only the provider's metadata URL.
Listen 127.0.0.1:${discPort}
<VirtualHost 127.0.0.1:${discPort}>
    ServerName 127.0.0.1
${app([`BlinkAuthProviderMetadataURL ${provider.issuer}/.well-known/openid-configuration`])}
</VirtualHost>

# The app again, where the external account's verified e-mail must be the Blink user's (Get User's).
Listen 127.0.0.1:${matchPort}
<VirtualHost 127.0.0.1:${matchPort}>
    ServerName 127.0.0.1
${app([...endpoints, `BlinkAuthServiceName "${MATCH_SERVICE}"`, 'BlinkAuthMatchEmail On', 'BlinkAuthTimeout 10'])}
</VirtualHost>

${act.conf()}
`;
}

// Start the provider, the fake Blink, httpd and Chromium.
async function startAll() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  for (const f of ['httpd_error.log', 'httpd_access.log', 'fake_blink.log']) {
    fs.rmSync(path.join(out, f), { force: true });
  }
  check(fs.existsSync(module), `${module} is missing: run make first`);

  httpPort = await freePort();
  proxyUrl = `http://127.0.0.1:${httpPort}/blink`;
  discPort = await freePort();
  discUrl = `http://127.0.0.1:${discPort}/blink`;
  matchPort = await freePort();
  matchUrl = `http://127.0.0.1:${matchPort}/blink`;
  provider = await startProvider({
    clients: [{
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [`${proxyUrl}/callback`, `${discUrl}/callback`, `${matchUrl}/callback`],
    }],
    inspector: INSPECTOR,
  });
  // The tokens of every code exchange: the module saves none of those it refuses, and the test must
  // still be able to ask the provider whether they were revoked.
  issued = provider.issued;

  const portFile = path.join(work, 'blink.port');
  const blink = launch('fake_blink', 'python3', [
    path.join(top, 'tests/fakes/fake_blink.py'), '--port', '0', '--port-file', portFile,
    '--token', API_TOKEN, '--auth-id', AUTH_ID, '--log', path.join(out, 'fake_blink.log'),
  ], 'fake_blink.out');
  blinkPort = Number(await until('the fake Blink', () => {
    if (blink.exited) throw fatal(`fake_blink.py exited: ${JSON.stringify(blink.exited)}`);
    return fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim();
  }));

  await act.start();
  fs.writeFileSync(path.join(work, 'api-token'), `${API_TOKEN}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(work, 'httpd.conf'), httpdConf());
  const httpd = launch('httpd', apache, ['-f', path.join(work, 'httpd.conf'), '-DFOREGROUND'], 'httpd.out');
  await until('httpd', async () => {
    if (httpd.exited) {
      throw fatal(`httpd exited (${JSON.stringify(httpd.exited)}): `
        + `${fs.readFileSync(path.join(out, 'httpd.out'), 'utf8').trim()} (see tests/out/e2e/httpd_error.log)`);
    }
    const res = await fetch(`${proxyUrl}/callback`, { method: 'HEAD' });
    return res.status > 0;
  });

  check(fs.existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install chromium`);
  // The flags that keep Chromium off the closed network (see the machine notes); as root
  // Playwright adds --no-sandbox itself (chromiumSandbox defaults to false).
  const server = await chromium.launchServer({
    executablePath: chromiumPath,
    headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  track(server.process().pid, 'chromium');
  children.push({ what: 'chromium', server });
  browser = await chromium.connect(server.wsEndpoint());
}

// A fresh browser profile (a context of its own: its own cookie jar, at the provider and at the module)
// that may reach loopback only; resolves to its page.
async function newUser() {
  const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
  // oidc-provider's dev pages import a web font from Google: refuse anything not on loopback.
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  return context.newPage();
}

// Stop everything this run started (once, however often it is called).
let stopping;
function stopAll() {
  stopping ??= (async () => {
    if (browser) await browser.close().catch(() => {});
    for (const { child, server } of children.reverse()) {
      if (server) {
        await server.close().catch(() => server.kill());
      } else if (!child.exited) {
        child.kill('SIGCONT'); // one a check stopped
        child.kill('SIGTERM');
        await until(`${child.pid} to exit`, () => child.exited, 10000).catch(() => child.kill('SIGKILL'));
      }
    }
    if (provider) await provider.close();
    await act.stop();
  })().catch((err) => console.error('e2e: cleanup:', err));
  return stopping;
}

// ---------------------------------------------------------------- the checks

const results = [];
const state = {};

// Run one named check; a check that needs an earlier one's result fails with that reason.
async function test(name, fn) {
  if (interrupted) return;
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    if (interrupted) return;
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(err?.stack ?? err).split('\n').slice(0, 4).join('\n     ')}`);
  }
}

// Wait for the browser to reach our callback and return { status, text } of that page.
function callbackResponse(page, base = proxyUrl) {
  return page.waitForResponse((r) => r.url().startsWith(`${base}/callback?`), { timeout: 20000 });
}

// Connect as Blink's servers for blinkUser on the app at base: the start URL it answers, checked to be
// <base>/start/<43 base64url characters>.
async function connectStart(blinkUser, base = proxyUrl) {
  const r = await blinkCalls('POST', `/auth/${AUTH_ID}`, blinkUser, PROXY_SECRET, base);
  check(r.status === 200, `POST /auth: status ${r.status}: ${JSON.stringify(r.body)}`);
  check(r.body?.code === 'OK' && r.body?.message === 'OK', `envelope: ${JSON.stringify(r.body)}`);
  const url = r.body.data?.authorization_url;
  check(typeof url === 'string' && url.startsWith(`${base}/start/`)
    && /^[A-Za-z0-9_-]{43,4096}$/.test(url.slice(`${base}/start/`.length)), `not a start URL of ours: ${url}`);
  return url;
}

// Open a start URL in page: { start, location, final } with start the response of the start URL itself
// (a 303 when it sends the browser on), location its Location, final the page the browser ended on.
async function openStart(page, url) {
  const final = await page.goto(url);
  let req = final.request();
  while (req.redirectedFrom()) req = req.redirectedFrom();
  check(req.url() === url, `the first request was ${req.url()}, not the start URL`);
  const start = req === final.request() ? final : await req.response();
  return { start, location: start.headers().location, final };
}

// The cookies of our module that a browser context holds.
async function blinkCookies(context) {
  return (await context.cookies()).filter((c) => /blinkauth-/.test(c.name));
}

// Sign in at oidc-provider's login page (where page is) as login; wait for its consent page.
async function signIn(page, login) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('heading', { name: 'Authorize' }).waitFor();
}

// Click Continue on the consent page: { res, text, title } of our callback page.
async function consent(page, base = proxyUrl) {
  const landed = callbackResponse(page, base);
  await page.getByRole('button', { name: 'Continue' }).click();
  const res = await landed;
  await page.waitForLoadState();
  return { res, text: await page.locator('body').innerText(), title: await page.title() };
}

// Check that the provider's authorization URL the start URL sent the browser to is the one of the app at base.
function checkAuthorizeUrl(location, base = proxyUrl) {
  check(typeof location === 'string', 'no Location');
  const url = new URL(location);
  check(url.href.startsWith(`${provider.endpoints.authorize}?`), `Location ${url.href}`);
  const q = url.searchParams;
  check(q.get('response_type') === 'code', 'response_type');
  check(q.get('client_id') === CLIENT_ID, 'client_id');
  check(q.get('redirect_uri') === `${base}/callback`, `redirect_uri ${q.get('redirect_uri')}`);
  check(q.get('code_challenge_method') === 'S256' && /^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge')),
    'PKCE S256 challenge');
  check((q.get('state') ?? '').length >= 22, 'state');
  check(q.get('scope') === 'openid email offline_access', `scope ${q.get('scope')}`);
  return url;
}

// Acting for the user (act.mjs): its own provider, backend and virtual host, on this suite's helpers.
const act = actSuite({
  test, check, until, fatal, launch, freePort, basic, newUser, connectStart, openStart, signIn, consent,
  blinkAccounts, blinkRequests, app, endpointLines, out, work, AUTH_ID, CLIENT_ID, CLIENT_SECRET, PROXY_SECRET,
  API_TOKEN, issuedElsewhere: () => provider?.issued ?? [],
});

async function checks() {
  await test('Connect: POST /auth/<auth_id> answers a one-time start URL of ours (<origin><location>/start/<handle>)', async () => {
    const url = await connectStart(ALICE.blinkUser);
    // A link previewer's HEAD must not use the link up: the browser opens it below.
    const head = await fetch(url, { method: 'HEAD', redirect: 'manual' });
    check(head.status === 405 && head.headers.get('allow') === 'GET', `HEAD answered ${head.status}`);
    state.aliceStart = url;
  });

  await test('start: the browser that opens it gets 303 to oidc-provider\'s authorization URL and our HttpOnly SameSite=Lax cookie', async () => {
    check(state.aliceStart, 'needs the Connect check');
    const page = await newUser();
    state.alicePage = page;
    const s = await openStart(page, state.aliceStart);
    check(s.start.status() === 303, `start URL answered ${s.start.status()}`);
    state.aliceUrl = checkAuthorizeUrl(s.location).href;
    const cookies = await blinkCookies(page.context());
    check(cookies.length === 1, `cookies: ${JSON.stringify(cookies)}`);
    const c = cookies[0];
    check(/^blinkauth-[A-Za-z0-9_-]{16}$/.test(c.name), `cookie name ${c.name}`);
    check(c.httpOnly && c.sameSite === 'Lax' && c.path === '/blink' && c.domain === '127.0.0.1' && !c.secure,
      `cookie: ${JSON.stringify(c)}`);
    check(c.value.length >= 43 && c.expires > Date.now() / 1000, `cookie value or expiry: ${JSON.stringify(c)}`);
    check(s.final.url().startsWith(`${provider.issuer}/interaction/`), `the browser ended on ${s.final.url()}`);
    await page.locator('input[name="login"]').waitFor();
  });

  await test('browser: sign-in and consent at oidc-provider land on our "Connected as <email>" page', async () => {
    check(state.aliceUrl, 'needs the start check');
    const page = state.alicePage;
    await signIn(page, ALICE.login);
    const { res, text } = await consent(page);
    await page.screenshot({ path: path.join(out, 'connected.png') });
    const email = accountClaims(ALICE.login).email;
    check(res.status() === 200, `callback status ${res.status()}: ${text}`);
    // Get User does not know alice yet (404): the page names no Blink account.
    check(text.includes(`Connected as ${email} at 127.0.0.1. You can close this window.`), `page says: ${text}`);
  });

  await test('Blink holds exactly one linked account for the user: external_account_id = email claim', async () => {
    const all = await blinkAccounts();
    const mine = all.filter((a) => a.user_id === ALICE.blinkUser);
    check(all.length === 1 && mine.length === 1, `accounts: ${JSON.stringify(all)}`);
    const a = mine[0];
    check(a.auth_id === AUTH_ID, `auth_id ${a.auth_id}`);
    check(a.external_account_id === accountClaims(ALICE.login).email, `external_account_id ${a.external_account_id}`);
    check(typeof a.access_token === 'string' && a.access_token.length > 20, 'access_token saved');
    check(typeof a.refresh_token === 'string' && a.refresh_token.length > 20, 'refresh_token saved');
    const ttl = (Date.parse(a.expiry) - Date.now()) / 1000;
    check(ttl > 3500 && ttl <= 3600, `expiry ${a.expiry} is not about an hour away`);
    state.account = a;
  });

  await test('the saved access_token works at the provider\'s userinfo; both tokens introspect active', async () => {
    check(state.account, 'needs the linked account');
    const u = await userinfo(provider, state.account.access_token);
    check(u.status === 200, `userinfo ${u.status}: ${JSON.stringify(u.body)}`);
    check(u.body.sub === ALICE.login && u.body.email === accountClaims(ALICE.login).email,
      `userinfo: ${JSON.stringify(u.body)}`);
    const at = await introspect(provider, state.account.access_token);
    const rt = await introspect(provider, state.account.refresh_token);
    check(at.active === true && at.client_id === CLIENT_ID && at.sub === ALICE.login, `access: ${JSON.stringify(at)}`);
    check(rt.active === true && rt.client_id === CLIENT_ID && rt.sub === ALICE.login, `refresh: ${JSON.stringify(rt)}`);
    check(state.account.access_token !== state.account.refresh_token && at.exp < rt.exp, 'two different tokens');
  });

  await test('the code exchange used client_secret_basic and a PKCE code_verifier', async () => {
    const grants = provider.log.filter((e) => e.route === 'token');
    check(grants.length === 1, `token endpoint calls: ${JSON.stringify(grants)}`);
    const g = grants[0];
    check(g.status === 200 && g.grantType === 'authorization_code', JSON.stringify(g));
    check(g.authScheme === 'Basic' && g.clientId === CLIENT_ID && g.hasCodeVerifier, JSON.stringify(g));
  });

  await test('replay: re-opening the start URL shows our 400 "This link was already used" page, no redirect, no code exchange', async () => {
    check(state.alicePage && state.account, 'needs a completed connect');
    const page = state.alicePage;
    const tokensBefore = calls('token');
    const s = await openStart(page, state.aliceStart);
    const text = await page.locator('body').innerText();
    check(s.start === s.final && s.start.status() === 400, `start URL answered ${s.start.status()}: ${text}`);
    check(page.url() === state.aliceStart && s.location === undefined, `the browser went on to ${page.url()}`);
    check(await page.title() === 'This link was already used', `title ${await page.title()}`);
    await page.screenshot({ path: path.join(out, 'start-replayed.png') });
    const all = await blinkAccounts();
    check(all.length === 1 && all[0].id === state.account.id, `accounts after replay: ${JSON.stringify(all)}`);
    check(calls('token') === tokensBefore, 'a token was requested');
  });

  await test('replay: the provider\'s authorization URL again, in the same browser, ends on our 200 "Already connected" page; the new code is not exchanged', async () => {
    check(state.alicePage && state.account && state.aliceUrl, 'needs a completed connect');
    const page = state.alicePage;
    const tokensBefore = calls('token');
    // The provider still has alice's session and grant: it redirects straight back with a new
    // code and the old state, which the module has already spent.
    const landed = callbackResponse(page);
    await page.goto(state.aliceUrl);
    const res = await landed;
    await page.waitForLoadState();
    const text = await page.locator('body').innerText();
    check(res.status() === 200, `callback status ${res.status()}: ${text}`);
    check(/Already connected/.test(text) && /as alice@example\.test/.test(text), `page says: ${text}`);
    check(new URL(res.url()).searchParams.has('code'), 'the provider sent a code (the module refused it)');
    await page.screenshot({ path: path.join(out, 'replayed.png') });
    const all = await blinkAccounts();
    check(all.length === 1 && all[0].id === state.account.id, `accounts after replay: ${JSON.stringify(all)}`);
    check(calls('token') === tokensBefore, 'the module exchanged the replayed code');
    await page.context().close();
  });

  await test('cancel: a user who clicks Cancel at consent lands on our "cancelled" page; nothing saved', async () => {
    const start = await connectStart(BOB.blinkUser);
    const tokensBefore = calls('token');
    const page = await newUser();
    const s = await openStart(page, start);
    checkAuthorizeUrl(s.location);
    await signIn(page, BOB.login);
    const landed = callbackResponse(page);
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    const res = await landed;
    await page.waitForLoadState();
    await page.screenshot({ path: path.join(out, 'cancelled.png') });
    const text = await page.locator('body').innerText();
    check(new URL(res.url()).searchParams.get('error') === 'access_denied', `callback URL ${res.url()}`);
    check(res.status() === 200 && text.includes('You cancelled the connection'), `${res.status()}: ${text}`);
    const all = await blinkAccounts();
    check(!all.some((a) => a.user_id === BOB.blinkUser) && all.length === 1, `accounts: ${JSON.stringify(all)}`);
    check(calls('token') === tokensBefore, 'a token was requested');
    await page.context().close();
  });

  await test('Disconnect: DELETE /linked-accounts/<id> answers 200 OK and Blink no longer holds it', async () => {
    check(state.account, 'needs the linked account');
    const r = await blinkCalls('DELETE', `/linked-accounts/${encodeURIComponent(state.account.id)}`, ALICE.blinkUser);
    check(r.status === 200 && r.body?.code === 'OK', `${r.status} ${JSON.stringify(r.body)}`);
    check(JSON.stringify(r.body.data) === '{}', `data: ${JSON.stringify(r.body.data)}`);
    const all = await blinkAccounts();
    check(all.length === 0, `accounts left: ${JSON.stringify(all)}`);
  });

  await test('after Disconnect the provider reports both tokens revoked (introspection inactive)', async () => {
    check(state.account, 'needs the linked account');
    const at = await introspect(provider, state.account.access_token);
    const rt = await introspect(provider, state.account.refresh_token);
    check(at.active === false, `access token: ${JSON.stringify(at)}`);
    check(rt.active === false, `refresh token: ${JSON.stringify(rt)}`);
    const u = await userinfo(provider, state.account.access_token);
    check(u.status === 401, `userinfo with the revoked token: ${u.status}`);
    const rev = provider.log.filter((e) => e.route === 'revocation');
    const hints = rev.map((e) => e.tokenTypeHint).sort().join(',');
    check(rev.length === 2 && hints === 'access_token,refresh_token', `revocation calls: ${JSON.stringify(rev)}`);
    check(rev.every((e) => e.status === 200 && e.authScheme === 'Basic' && e.clientId === CLIENT_ID),
      `revocation calls: ${JSON.stringify(rev)}`);
  });

  // ------------------------------------------------ two browsers: the start URL binds the connect to one

  await test('two browsers: Alice\'s browser opens a start URL and is sent on to oidc-provider (she does not sign in yet)', async () => {
    const start = await connectStart(ALICE.blinkUser);
    const page = await newUser();
    const context = page.context();
    const s = await openStart(page, start);
    check(s.start.status() === 303, `start URL answered ${s.start.status()}`);
    const url = checkAuthorizeUrl(s.location);
    const cookies = await blinkCookies(context);
    check(cookies.length === 1, `Alice's cookies: ${JSON.stringify(cookies)}`);
    await page.locator('input[name="login"]').waitFor();
    state.two = { start, alicePage: page, location: url.href, state: url.searchParams.get('state'), cookie: cookies[0] };
  });

  await test('two browsers: Bob\'s browser opening the SAME start URL gets our 400 "This link was already used" page: no redirect, no cookie', async () => {
    check(state.two, 'needs Alice\'s start');
    const page = await newUser();
    const context = page.context();
    state.two.bobPage = page;
    const s = await openStart(page, state.two.start);
    const text = await page.locator('body').innerText();
    check(s.start === s.final && s.start.status() === 400 && s.location === undefined,
      `start URL answered ${s.start.status()} (Location ${s.location}): ${text}`);
    check(page.url() === state.two.start, `Bob's browser went on to ${page.url()}`);
    check(await page.title() === 'This link was already used' && /already opened/.test(text), `page: ${text}`);
    await page.screenshot({ path: path.join(out, 'two-browsers-already-used.png') });
    check((await blinkCookies(context)).length === 0, 'Bob\'s browser got a cookie of ours');
  });

  await test('two browsers: Bob signs in as bob at the provider URL Alice was sent to; our callback answers 400 "another browser", no token request, nothing saved', async () => {
    check(state.two?.bobPage, 'needs Bob\'s browser');
    const page = state.two.bobPage;
    const tokensBefore = calls('token');
    const accountsBefore = await blinkAccounts();
    await page.goto(state.two.location);
    await signIn(page, BOB.login);
    const { res, text, title } = await consent(page);
    const q = new URL(res.url()).searchParams;
    check(q.has('code') && q.get('state') === state.two.state, `callback URL ${res.url()}`);
    check(res.status() === 400 && title === 'Not connected: another browser', `${res.status()} ${title}: ${text}`);
    check(/started in another browser/.test(text), `page says: ${text}`);
    await page.screenshot({ path: path.join(out, 'two-browsers-another-browser.png') });
    check(calls('token') === tokensBefore, 'the module exchanged Bob\'s code');
    const all = await blinkAccounts();
    check(JSON.stringify(all) === JSON.stringify(accountsBefore), `accounts: ${JSON.stringify(all)}`);
    state.two.bobCallback = res.url();
  });

  await test('two browsers: the same callback with a cookie of that connect\'s name but another value is refused the same way', async () => {
    check(state.two?.bobCallback, 'needs Bob\'s refused callback');
    const page = state.two.bobPage;
    const tokensBefore = calls('token');
    const forged = { ...state.two.cookie, value: crypto.randomBytes(32).toString('base64url') };
    await page.context().addCookies([forged]);
    const res = await page.goto(state.two.bobCallback);
    const text = await page.locator('body').innerText();
    check(res.status() === 400 && await page.title() === 'Not connected: another browser', `${res.status()}: ${text}`);
    check(calls('token') === tokensBefore, 'the module exchanged Bob\'s code');
    check(!(await blinkAccounts()).some((a) => a.user_id === ALICE.blinkUser), 'an account was saved for alice');
    await page.context().close();
  });

  await test('two browsers: Alice then signs in in her own browser and finishes: "Connected as alice@…", saved once', async () => {
    check(state.two?.alicePage, 'needs Alice\'s start');
    const page = state.two.alicePage;
    const tokensBefore = calls('token');
    await signIn(page, ALICE.login);
    const { res, text } = await consent(page);
    await page.screenshot({ path: path.join(out, 'two-browsers-connected.png') });
    const email = accountClaims(ALICE.login).email;
    check(new URL(res.url()).searchParams.get('state') === state.two.state, `callback URL ${res.url()}`);
    check(res.status() === 200 && text.includes(`Connected as ${email} at 127.0.0.1.`), `${res.status()}: ${text}`);
    check(calls('token') === tokensBefore + 1, 'not one code exchange');
    const mine = (await blinkAccounts()).filter((a) => a.user_id === ALICE.blinkUser);
    check(mine.length === 1 && mine[0].external_account_id === email, `accounts: ${JSON.stringify(mine)}`);
    const at = await introspect(provider, mine[0].access_token);
    check(at.active === true && at.sub === ALICE.login, `access token: ${JSON.stringify(at)}`);
    state.two.account = mine[0];
    await page.context().close();
  });

  await test('two browsers: Disconnect of that account answers 200 and Blink holds nothing', async () => {
    check(state.two?.account, 'needs the two-browser connect');
    const r = await blinkCalls('DELETE', `/linked-accounts/${encodeURIComponent(state.two.account.id)}`, ALICE.blinkUser);
    check(r.status === 200 && r.body?.code === 'OK', `${r.status} ${JSON.stringify(r.body)}`);
    const all = await blinkAccounts();
    check(all.length === 0, `accounts left: ${JSON.stringify(all)}`);
  });

  // ------------------------------------------------ BlinkAuthMatchEmail On: the link is for one person

  await test('match e-mail: Bob opens and finishes a start URL Alice never opened; our 403 "this link is for someone else" page names Alice\'s Blink account', async () => {
    await blinkUsers({ [ALICE.blinkUser]: ALICE_PROFILE });
    const start = await connectStart(ALICE.blinkUser, matchUrl);
    const tokensBefore = calls('token');
    const revokedBefore = calls('revocation');
    const issuedBefore = issued.length;
    const page = await newUser();
    const s = await openStart(page, start);
    check(s.start.status() === 303, `start URL answered ${s.start.status()}`);
    checkAuthorizeUrl(s.location, matchUrl);
    await signIn(page, BOB.login);
    const { res, text, title } = await consent(page, matchUrl);
    await page.screenshot({ path: path.join(out, 'match-email-someone-else.png') });
    const owner = `${ALICE_PROFILE.first_name} ${ALICE_PROFILE.last_name} (${ALICE_PROFILE.email})`;
    check(res.status() === 403 && title === 'Not connected: this link is for someone else', `${res.status()} ${title}: ${text}`);
    check(text.includes(`This link was made for the Blink account of ${owner}`), `page says: ${text}`);
    check(text.includes(`${MATCH_SERVICE} account you signed in with (${accountClaims(BOB.login).email})`), `page says: ${text}`);
    check(!text.includes('Connected as'), `page says: ${text}`);
    const grants = provider.log.filter((e) => e.route === 'token').slice(tokensBefore);
    check(grants.length === 1 && grants[0].status === 200 && grants[0].grantType === 'authorization_code',
      `token calls: ${JSON.stringify(grants)}`);
    check(issued.length === issuedBefore + 1, `tokens issued: ${issued.length - issuedBefore}`);
    const bobTokens = issued[issued.length - 1];
    // oidc-provider keeps the e-mail claims out of the ID token when it issues an access token (the module
    // reads them at userinfo, which gives bob's verified e-mail): the ID token says whose tokens these are.
    const claims = jwtClaims(bobTokens.idToken);
    check(claims.sub === BOB.login, `the ID token of that exchange: ${JSON.stringify(claims)}`);
    state.match = { bobTokens, revokedBefore };
    await page.context().close();
  });

  await test('match e-mail: Bob\'s tokens are revoked at the provider (introspection inactive) and Blink holds nothing', async () => {
    check(state.match, 'needs Bob\'s refused connect');
    const { bobTokens, revokedBefore } = state.match;
    const rev = provider.log.filter((e) => e.route === 'revocation').slice(revokedBefore);
    const hints = rev.map((e) => e.tokenTypeHint).sort().join(',');
    check(rev.length === 2 && hints === 'access_token,refresh_token'
      && rev.every((e) => e.status === 200 && e.authScheme === 'Basic' && e.clientId === CLIENT_ID),
    `revocation calls: ${JSON.stringify(rev)}`);
    const at = await introspect(provider, bobTokens.accessToken);
    const rt = await introspect(provider, bobTokens.refreshToken);
    check(at.active === false, `access token: ${JSON.stringify(at)}`);
    check(rt.active === false, `refresh token: ${JSON.stringify(rt)}`);
    const u = await userinfo(provider, bobTokens.accessToken);
    check(u.status === 401, `userinfo with Bob's revoked token: ${u.status}`);
    const all = await blinkAccounts();
    check(all.length === 0, `accounts: ${JSON.stringify(all)}`);
  });

  await test('match e-mail: Alice finishing her own connect on that app lands on "Connected as alice@… at … to the Blink account of Alice …"; saved', async () => {
    const start = await connectStart(ALICE.blinkUser, matchUrl);
    const tokensBefore = calls('token');
    const revokedBefore = calls('revocation');
    const page = await newUser();
    const s = await openStart(page, start);
    check(s.start.status() === 303, `start URL answered ${s.start.status()}`);
    await signIn(page, ALICE.login);
    const { res, text } = await consent(page, matchUrl);
    await page.screenshot({ path: path.join(out, 'match-email-connected.png') });
    const email = accountClaims(ALICE.login).email;
    const owner = `${ALICE_PROFILE.first_name} ${ALICE_PROFILE.last_name} (${ALICE_PROFILE.email})`;
    check(res.status() === 200, `callback status ${res.status()}: ${text}`);
    check(text.includes(`Connected as ${email} at ${MATCH_SERVICE} to the Blink account of ${owner}. You can close this window.`),
      `page says: ${text}`);
    check(calls('token') === tokensBefore + 1 && calls('revocation') === revokedBefore,
      `token calls ${calls('token') - tokensBefore}, revocation calls ${calls('revocation') - revokedBefore}`);
    const all = await blinkAccounts();
    check(all.length === 1 && all[0].user_id === ALICE.blinkUser && all[0].auth_id === AUTH_ID
      && all[0].external_account_id === email, `accounts: ${JSON.stringify(all)}`);
    const at = await introspect(provider, all[0].access_token);
    check(at.active === true && at.sub === ALICE.login, `access token: ${JSON.stringify(at)}`);
    state.matchAccount = all[0];
    await page.context().close();
  });

  await test('match e-mail: Disconnect on that app deletes the account and revokes both tokens', async () => {
    check(state.matchAccount, 'needs Alice\'s connect on the match app');
    const r = await blinkCalls('DELETE', `/linked-accounts/${encodeURIComponent(state.matchAccount.id)}`,
      ALICE.blinkUser, PROXY_SECRET, matchUrl);
    check(r.status === 200 && r.body?.code === 'OK', `${r.status} ${JSON.stringify(r.body)}`);
    check((await blinkAccounts()).length === 0, 'the account is still in Blink');
    const rt = await introspect(provider, state.matchAccount.refresh_token);
    check(rt.active === false, `refresh token: ${JSON.stringify(rt)}`);
  });

  await test('discovery: httpd read the metadata once, at start-up (for both passes of its start), and logged the endpoints it took', async () => {
    const reads = provider.log.filter((e) => e.route === 'discovery');
    check(reads.length === 1 && reads[0].status === 200, `metadata reads: ${JSON.stringify(reads)}`);
    const log = fs.readFileSync(path.join(out, 'httpd_error.log'), 'utf8');
    check(log.includes(`provider metadata (GET ${provider.issuer}/.well-known/openid-configuration) answered HTTP 200`)
      && log.includes(`authorization endpoint ${provider.endpoints.authorize}, token endpoint ${provider.endpoints.token}`),
    'no BLA00601 line with the URL and the endpoints in httpd_error.log');
  });

  await test('discovery: oidc-provider serves its metadata; its issuer is the URL it is served under', async () => {
    const res = await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    check(res.status === 200, `metadata answered ${res.status}`);
    const doc = await res.json();
    check(doc.issuer === provider.issuer, `issuer ${doc.issuer}, not ${provider.issuer}`);
    check(doc.authorization_endpoint === provider.endpoints.authorize && doc.token_endpoint === provider.endpoints.token
      && doc.userinfo_endpoint === provider.endpoints.userinfo && doc.revocation_endpoint === provider.endpoints.revoke,
    `endpoints: ${JSON.stringify(doc)}`);
    check(doc.response_types_supported.includes('code'), `response_types_supported ${doc.response_types_supported}`);
    check(doc.code_challenge_methods_supported?.includes('S256'),
      `code_challenge_methods_supported ${doc.code_challenge_methods_supported}`);
  });

  await test('discovery: Connect on the app with only BlinkAuthProviderMetadataURL answers a start URL of that app', async () => {
    state.carolStart = await connectStart(CAROL.blinkUser, discUrl);
  });

  await test('discovery: the start URL sends the browser to the discovered authorization endpoint; sign-in and consent land on "Connected as <email>"; Blink holds the account', async () => {
    check(state.carolStart, 'needs the discovery Connect check');
    const tokensBefore = provider.log.filter((e) => e.route === 'token').length;
    const userinfoBefore = provider.log.filter((e) => e.route === 'userinfo').length;
    const page = await newUser();
    const s = await openStart(page, state.carolStart);
    check(s.start.status() === 303, `start URL answered ${s.start.status()}`);
    checkAuthorizeUrl(s.location, discUrl);
    await signIn(page, CAROL.login);
    const { res, text } = await consent(page, discUrl);
    await page.screenshot({ path: path.join(out, 'connected-discovery.png') });
    const email = accountClaims(CAROL.login).email;
    check(res.status() === 200 && text.includes(`Connected as ${email}`), `${res.status()}: ${text}`);
    const grants = provider.log.filter((e) => e.route === 'token').slice(tokensBefore);
    check(grants.length === 1 && grants[0].status === 200 && grants[0].grantType === 'authorization_code'
      && grants[0].authScheme === 'Basic' && grants[0].hasCodeVerifier, `token calls: ${JSON.stringify(grants)}`);
    check(provider.log.filter((e) => e.route === 'userinfo').length === userinfoBefore + 1,
      'the account id was not read at the discovered userinfo endpoint');
    const mine = (await blinkAccounts()).filter((a) => a.user_id === CAROL.blinkUser);
    check(mine.length === 1 && mine[0].auth_id === AUTH_ID && mine[0].external_account_id === email
      && mine[0].access_token?.length > 20 && mine[0].refresh_token?.length > 20, `accounts: ${JSON.stringify(mine)}`);
    const at = await introspect(provider, mine[0].access_token);
    check(at.active === true && at.sub === CAROL.login, `access token: ${JSON.stringify(at)}`);
    state.carolAccount = mine[0];
    await page.context().close();
  });

  await test('discovery: Disconnect deletes the account and revokes both tokens at the discovered revocation endpoint', async () => {
    check(state.carolAccount, 'needs the discovery connect');
    const revokedBefore = provider.log.filter((e) => e.route === 'revocation').length;
    const r = await blinkCalls('DELETE', `/linked-accounts/${encodeURIComponent(state.carolAccount.id)}`,
      CAROL.blinkUser, PROXY_SECRET, discUrl);
    check(r.status === 200 && r.body?.code === 'OK', `${r.status} ${JSON.stringify(r.body)}`);
    check(!(await blinkAccounts()).some((a) => a.user_id === CAROL.blinkUser), 'the account is still in Blink');
    const rev = provider.log.filter((e) => e.route === 'revocation').slice(revokedBefore);
    check(rev.length === 2 && rev.every((e) => e.status === 200 && e.authScheme === 'Basic'),
      `revocation calls: ${JSON.stringify(rev)}`);
    const rt = await introspect(provider, state.carolAccount.refresh_token);
    check(rt.active === false, `refresh token: ${JSON.stringify(rt)}`);
  });

  await act.checks();

  await test('httpd: no child crashed and no error was logged', async () => {
    const log = fs.readFileSync(path.join(out, 'httpd_error.log'), 'utf8');
    const bad = log.split('\n').filter((l) => /exit signal|Segmentation|:error\]|:crit\]|:alert\]|:emerg\]/.test(l));
    check(bad.length === 0, bad.join('\n'));
  });
}

// ---------------------------------------------------------------- main

// Print the summary line run-all.sh counts.
function summary(extraFailed = 0) {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed + extraFailed;
  console.log(`e2e: screenshots and logs in ${path.relative(top, out)}/ (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    if (interrupted) return;
    interrupted = true;
    console.log(`e2e: ${sig}: stopping everything this run started`);
    await stopAll();
    summary(1);
    process.exit(130);
  });
}

// A reader that went away (| head) must not stop the run before it cleans up.
process.stdout.on('error', () => {});
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(pidFile, '');
const started = Date.now();
try {
  await startAll();
  await checks();
} catch (err) {
  if (!interrupted) {
    results.push({ name: 'setup', ok: false });
    console.log(`FAIL setup\n     ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n     ')}`);
  }
}
if (interrupted) await new Promise(() => {}); // the signal handler exits
await stopAll();
process.exit(summary() === 0 ? 0 : 1);
