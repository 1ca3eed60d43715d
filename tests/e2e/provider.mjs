// A real OAuth 2.0 / OpenID Connect server (the npm package oidc-provider) on loopback, with one
// confidential client for mod_blinkauth. Used in-process by e2e.test.mjs and on its own by
// scripts/run-sandbox.sh:
//
//   node provider.mjs --port 8081 --client-id blink-sandbox --client-secret s \
//        --redirect-uri http://127.0.0.1:8080/blink/callback [--port-file F] \
//        [--access-ttl SECONDS] [--rotate] [--control]
//
// --access-ttl: the lifetime of the access tokens it issues (default 3600). --rotate: each refresh_token
// grant consumes the refresh token it is given and issues a new one; a consumed refresh token used again
// makes oidc-provider revoke the whole grant (every token issued from it). --control: GET /_control/log
// (the log below) and GET /_control/issued (every token the token endpoint issued), for a test in
// another process.
//
// The login and consent pages are oidc-provider's own development interactions: any login name
// and any password sign in; the account's e-mail is the login name when it holds an '@', else
// <login>@example.test. "[ Cancel ]" on either page answers the client with error=access_denied.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import Provider from 'oidc-provider';

// The claims of a demo account: sub is the login name, email derived from it.
export function accountClaims(login) {
  const email = login.includes('@') ? login : `${login}@example.test`;
  return { sub: login, email, email_verified: true, name: login };
}

// Start the provider on host:port (0 picks a free port); resolves to its handle.
//   clients: [{ clientId, clientSecret, redirectUris }]; the first is mod_blinkauth's.
//   inspector: { clientId, clientSecret } of a client allowed to introspect every token.
//   accessTtl: the access tokens' lifetime in seconds; rotate: refresh-token rotation (see above);
//   control: serve /_control/log and /_control/issued.
export async function startProvider({
  host = '127.0.0.1', port = 0, clients, inspector, quiet = false, accessTtl = 3600, rotate = false,
  control = false,
}) {
  // Requests to the token, revocation, introspection, userinfo and discovery endpoints, as seen by the
  // provider once it has handled them (route, status, client auth scheme, a few parameters).
  const log = [];
  // The token endpoint's successful answers, in order: { grantType, accessToken, refreshToken, idToken }.
  const issued = [];
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e', use: 'sig', alg: 'RS256' };

  // The issuer needs the port, which is known only once the server listens: listen first on a
  // bare HTTP server, then attach the provider's request handler.
  const http = await import('node:http');
  let handler = (_req, res) => { res.statusCode = 503; res.end(); };
  const server = http.createServer((req, res) => {
    if (control && req.method === 'GET' && ['/_control/log', '/_control/issued'].includes(req.url)) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url === '/_control/log' ? log : issued));
      return;
    }
    handler(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address().port;
  const issuer = `http://${host}:${bound}`;

  const metadata = clients.map((c) => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: c.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }));
  if (inspector) {
    metadata.push({
      client_id: inspector.clientId,
      client_secret: inspector.clientSecret,
      redirect_uris: [],
      grant_types: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    });
  }

  const provider = new Provider(issuer, {
    clients: metadata,
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    async findAccount(_ctx, id) {
      return { accountId: id, claims: async () => accountClaims(id) };
    },
    // PKCE for every client, confidential ones included (oidc-provider 8's default, made
    // explicit); S256 is the only method it accepts.
    pkce: { required: () => true },
    // oidc-provider drops offline_access unless the request says prompt=consent; mod_blinkauth
    // sends no prompt, so issue a refresh token to every client allowed the refresh_token grant,
    // and do not tie the tokens to the browser session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // Revoking one token must not take the other with it (oidc-provider 8 revokes the whole
    // grant by default): so the e2e test proves that mod_blinkauth revokes each token itself.
    // (Revoking a refresh token still revokes every token issued under its grant, the access
    // token too; the grant itself stays. The e2e test counts the revocation calls.)
    revokeGrantPolicy: () => false,
    rotateRefreshToken: rotate,
    // A token is expired at its exp, not 15 s later (oidc-provider 8's default tolerance of clock skew).
    clockTolerance: 0,
    features: {
      devInteractions: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) =>
          token.clientId === client.clientId
          || (inspector !== undefined && client.clientId === inspector.clientId),
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    ttl: {
      AccessToken: accessTtl, AuthorizationCode: 60, RefreshToken: 86400,
      IdToken: 3600, Interaction: 3600, Session: 86400, Grant: 86400,
    },
  });

  // Record each call to a back-channel endpoint after oidc-provider has answered it.
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (!['token', 'revocation', 'introspection', 'userinfo', 'discovery'].includes(route)) return;
    const params = ctx.oidc.params ?? {};
    const auth = ctx.get('authorization');
    log.push({
      route,
      method: ctx.method,
      status: ctx.status,
      clientId: ctx.oidc.client?.clientId,
      authScheme: auth ? auth.split(' ')[0] : null,
      grantType: params.grant_type,
      hasCodeVerifier: typeof params.code_verifier === 'string' && params.code_verifier.length > 0,
      tokenTypeHint: params.token_type_hint,
      error: ctx.body?.error,
    });
  });
  provider.on('grant.success', (ctx) => {
    const { access_token: accessToken, refresh_token: refreshToken, id_token: idToken } = ctx.body ?? {};
    issued.push({ grantType: ctx.oidc.params?.grant_type, accessToken, refreshToken, idToken });
  });
  if (!quiet) {
    provider.on('server_error', (_ctx, err) => console.error('provider: server_error', err));
  }

  handler = provider.callback();
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  return {
    provider,
    issuer,
    port: bound,
    log,
    issued,
    endpoints: {
      authorize: `${issuer}/auth`,
      token: `${issuer}/token`,
      userinfo: `${issuer}/me`,
      revoke: `${issuer}/token/revocation`,
      introspect: `${issuer}/token/introspection`,
    },
    // Stop listening and drop every open connection.
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

// Run on its own until SIGINT/SIGTERM (the sandbox).
async function main() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'port-file': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'access-ttl': { type: 'string', default: '3600' },
      rotate: { type: 'boolean', default: false },
      control: { type: 'boolean', default: false },
    },
  });
  if (!values['client-id'] || !values['client-secret'] || !values['redirect-uri']) {
    console.error('usage: node provider.mjs --client-id ID --client-secret S --redirect-uri URL '
      + '[--port N] [--port-file F] [--access-ttl SECONDS] [--rotate] [--control]');
    process.exit(2);
  }
  const p = await startProvider({
    host: values.host,
    port: Number(values.port),
    clients: [{
      clientId: values['client-id'],
      clientSecret: values['client-secret'],
      redirectUris: values['redirect-uri'],
    }],
    accessTtl: Number(values['access-ttl']),
    rotate: values.rotate,
    control: values.control,
  });
  if (values['port-file']) fs.writeFileSync(values['port-file'], `${p.port}\n`);
  console.log(`provider: issuer ${p.issuer} (discovery: ${p.issuer}/.well-known/openid-configuration)`);
  const stop = async () => { await p.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => { console.error(err); process.exit(1); });
}
