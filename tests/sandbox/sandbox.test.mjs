// `make run`, clicked through: scripts/run-sandbox.sh as a person starts it (oidc-provider, the fake Blink
// and its page, httpd with conf/sandbox.conf.in), then headless Chromium on the fake Blink page: Connect,
// sign in, Continue, and the linked account's "GET /api/me" button (Blink acting for the user through
// <Location "/blink/api">). Ctrl-C (SIGINT) ends it, as it ends the sandbox.
//
//   node tests/sandbox/sandbox.test.mjs     (tests/sandbox/run.sh: ports, npm packages)
//
// Environment: SANDBOX_TEST_PORT (httpd; +1 the provider, +2 the fake Blink). Prints one line per check
// and ends with "sandbox: N passed, N failed". The sandbox's logs and screenshots: tests/out/sandbox/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is one of tests/e2e's npm packages (tests/e2e/package.json).
const { chromium } = createRequire(path.join(top, 'tests/e2e/package.json'))('playwright-core');

const out = path.join(top, 'tests/out/sandbox');
const base = Number(process.env.SANDBOX_TEST_PORT ?? 18080);
const proxyUrl = `http://127.0.0.1:${base}/blink`;
const blinkUrl = `http://127.0.0.1:${base + 2}`;
const BLINK_USER = 'sandbox-user-1';
const PROXY_SECRET = 'sandbox-proxy-secret';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const results = [];
let sandbox;
let sandboxOut = '';
let browser;

// Throw unless cond, with a message that says what was expected.
function check(cond, message) {
  if (!cond) throw new Error(message);
}

// Run one named check, recording and printing its outcome.
async function test(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name}`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(err?.stack ?? err).split('\n').slice(0, 4).join('\n     ')}`);
  }
}

// Start scripts/run-sandbox.sh in its own directory and wait (up to 120 s: npm ci may run) for its banner.
function startSandbox() {
  sandbox = spawn('bash', [path.join(top, 'scripts/run-sandbox.sh')], {
    env: {
      ...process.env,
      SANDBOX_HTTP_PORT: String(base),
      SANDBOX_PROVIDER_PORT: String(base + 1),
      SANDBOX_BLINK_PORT: String(base + 2),
      SANDBOX_DIR: path.join(out, 'run'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 120 s:\n${sandboxOut}`)), 120000);
    const take = (chunk) => {
      sandboxOut += chunk;
      if (sandboxOut.includes('Ctrl-C stops everything.')) { clearTimeout(timer); resolve(); }
    };
    sandbox.stdout.on('data', take);
    sandbox.stderr.on('data', take);
    sandbox.on('exit', (code, signal) => {
      sandbox.exited = { code, signal };
      clearTimeout(timer);
      reject(new Error(`run-sandbox.sh exited (${code ?? signal}):\n${sandboxOut}`));
    });
  });
}

// Resolve once the sandbox script has exited (or after ms), with how it exited.
function sandboxExit(ms) {
  if (sandbox.exited) return Promise.resolve(sandbox.exited);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    sandbox.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

// What the fake Blink recorded of its API routes, e.g. 'list'.
async function blinkRequests(route) {
  return (await fetch(`${blinkUrl}/_control/requests?route=${route}`)).json();
}

// The message the fake Blink page shows after a button (its <pre>), once it is there.
async function pageMessage(page) {
  return page.locator('pre').first().innerText();
}

// GET an action as Blink would: { status, body }.
async function act(userId, pathUnder = '/api/me') {
  const headers = { 'blink-auth-proxysecret': PROXY_SECRET };
  if (userId) headers['blink-auth-userid'] = userId;
  const res = await fetch(`${proxyUrl}${pathUnder}`, { headers });
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

async function checks() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
  // oidc-provider's dev pages import a web font from Google: refuse anything not on loopback.
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  const page = await context.newPage();

  await test('the Blink page shows no action before a connect, and the action is refused: 403 NOT_LINKED, naming Sandbox ID', async () => {
    await page.goto(`${blinkUrl}/`);
    check(await page.getByRole('button', { name: 'GET /api/me' }).count() === 0, 'an action button with no account');
    const r = await act(BLINK_USER);
    check(r.status === 403 && r.body?.code === 'NOT_LINKED' && r.body.message.includes('Connect your Sandbox ID account'),
      `${r.status} ${JSON.stringify(r.body)}`);
  });

  await test('Connect, sign in as alice, Continue: "Connected as alice@example.test"', async () => {
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('alice');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('heading', { name: 'Authorize' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForLoadState();
    const text = await page.locator('body').innerText();
    check(page.url().startsWith(`${proxyUrl}/callback`) && text.includes('Connected as alice@example.test'),
      `${page.url()}: ${text}`);
  });

  await test('"GET /api/me" on the Blink page: 200 and the external service names alice, with no call to Blink', async () => {
    const listsBefore = (await blinkRequests('list')).length;
    await page.goto(`${blinkUrl}/`);
    const row = page.locator('tr', { hasText: 'alice@example.test' });
    await row.getByRole('button', { name: 'GET /api/me' }).click();
    await page.waitForLoadState();
    await page.screenshot({ path: path.join(out, 'act.png') });
    const msg = await pageMessage(page);
    check(msg.startsWith(`GET /api/me as Blink user ${BLINK_USER} -> 200 `), msg);
    const answer = JSON.parse(msg.slice(msg.indexOf('{')));
    check(answer.sub === 'alice' && answer.email === 'alice@example.test', msg);
    // The sandbox's BlinkAuthTokenKey: the callback kept a sealed copy, so the action needed no List.
    const lists = (await blinkRequests('list')).length - listsBefore;
    check(lists === 0, `the action asked Blink ${lists} time(s) for the linked accounts`);
  });

  await test('the action without the Proxy Secret: 401, nothing from the external service', async () => {
    const res = await fetch(`${proxyUrl}/api/me`, { headers: { 'blink-auth-userid': BLINK_USER } });
    const body = await res.json();
    check(res.status === 401 && body.code === 'UNAUTHORIZED' && !('email' in body), `${res.status} ${JSON.stringify(body)}`);
  });

  await test('after Disconnect on the Blink page the action is refused again: 403 NOT_LINKED', async () => {
    await page.goto(`${blinkUrl}/`);
    await page.locator('tr', { hasText: 'alice@example.test' }).getByRole('button', { name: 'Disconnect' }).click();
    await page.waitForLoadState();
    const msg = await pageMessage(page);
    check(/-> 200 /.test(msg), msg);
    const r = await act(BLINK_USER);
    check(r.status === 403 && r.body?.code === 'NOT_LINKED', `${r.status} ${JSON.stringify(r.body)}`);
  });
  await context.close();
}

// Print the summary line run-all.sh counts.
function summary() {
  const passed = results.filter((r) => r.ok).length;
  console.log(`sandbox: ${passed} passed, ${results.length - passed} failed`);
  return results.length - passed;
}

// Ctrl-C of the suite: Ctrl-C of the sandbox, then out.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    console.log(`sandbox: ${sig}: stopping the sandbox`);
    if (browser) await browser.close().catch(() => {});
    if (sandbox && !sandbox.exited) {
      sandbox.kill('SIGINT');
      if (!await sandboxExit(20000)) sandbox.kill('SIGKILL');
    }
    console.log('sandbox: 0 passed, 1 failed');
    process.exit(130);
  });
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
try {
  await startSandbox();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  await checks();
} catch (err) {
  results.push({ name: 'setup', ok: false });
  console.log(`FAIL setup\n     ${String(err?.stack ?? err).split('\n').slice(0, 12).join('\n     ')}`);
}
if (browser) await browser.close().catch(() => {});
await test('Ctrl-C (SIGINT) stops the sandbox, which exits 0', async () => {
  if (!sandbox.exited) sandbox.kill('SIGINT');
  const how = await sandboxExit(20000);
  if (!how) sandbox.kill('SIGKILL');
  check(how?.code === 0, `run-sandbox.sh: ${JSON.stringify(how)}\n${sandboxOut.slice(-2000)}`);
});
fs.writeFileSync(path.join(out, 'run-sandbox.out'), sandboxOut);
process.exit(summary() === 0 ? 0 : 1);
