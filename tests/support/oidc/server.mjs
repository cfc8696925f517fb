// A Keycloak-shaped OpenID provider for vecron's tests, built on the certified `oidc-provider`.
//
//   node server.mjs CONFIG.json [PORT]
//
// CONFIG.json: {"realm", "port", "keys": [private JWKs], "clients": [...], "users": [...]}
// (tests/support/oidc.py writes it). Served on 127.0.0.1 under /realms/<realm>, so discovery is
// at /realms/<realm>/.well-known/openid-configuration and the keys at Keycloak's
// /realms/<realm>/protocol/openid-connect/certs. Tokens come from the `client_credentials`
// grant and a `password` grant; they are RS256 JWTs shaped like Keycloak's access tokens
// (header typ JWT; azp, realm_access.roles, resource_access.<client>.roles, preferred_username,
// typ Bearer). Test-only admin routes (loopback): POST /admin/keys {"keys": [...]} replaces the
// key set (the first signing key signs; list the old key too to keep publishing it), and
// GET /admin/stats counts the discovery and JWKS requests served (DELETE sets them to 0).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const port = Number(process.argv[3] ?? process.env.OIDC_PORT ?? config.port);
const prefix = `/realms/${config.realm}`;
const issuer = `http://127.0.0.1:${port}${prefix}`;
const RESOURCE = 'urn:vecron:test-realm';
const users = new Map(config.users.map((u) => [u.username, { id: randomUUID(), ...u }]));
const byId = new Map([...users.values()].map((u) => [u.id, u]));
const stats = { discovery_requests: 0, jwks_requests: 0, token_requests: 0 };

// Keycloak's claims for a user (or a client's service account) using `clientId`.
function keycloakClaims(user, clientId) {
  const clientRoles = Object.entries(user.client_roles ?? {}).filter(([, roles]) => roles.length);
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: ['account', ...clientRoles.map(([name]) => name).filter((name) => name !== 'account')],
    azp: clientId,
    typ: 'Bearer',
    nbf: now,
    preferred_username: user.username,
    realm_access: { roles: [`default-roles-${config.realm}`, ...(user.realm_roles ?? [])] },
    resource_access: Object.fromEntries(clientRoles.map(([name, roles]) => [name, { roles }])),
  };
}

function serviceAccount(client) {
  return { username: `service-account-${client.client_id}`, ...client.service_account };
}

// The password grant (Keycloak's "direct access grant"); the client is authenticated already.
async function passwordGrant(ctx) {
  const { client, params } = ctx.oidc;
  const user = users.get(params.username);
  if (!user || user.password !== params.password) {
    throw new errors.InvalidGrant('invalid user credentials');
  }
  const token = new ctx.oidc.provider.AccessToken({ accountId: user.id, client, gty: 'password' });
  token.resourceServer = new ctx.oidc.provider.ResourceServer(RESOURCE, resourceServer());
  token.scope = 'openid profile';
  ctx.body = {
    access_token: await token.save(),
    expires_in: token.expiration,
    token_type: 'Bearer',
    scope: token.scope,
  };
}

function resourceServer() {
  return {
    scope: 'openid profile',
    audience: 'account',
    accessTokenFormat: 'jwt',
    accessTokenTTL: config.access_token_ttl ?? 300,
    jwt: { sign: { alg: 'RS256' } },
  };
}

function build(keys) {
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials', 'password'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    cookies: { keys: ['vecron-test-cookie-key'] },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      encryption: { enabled: true }, // so the key set may hold an encryption key, as Keycloak's does
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => resourceServer(),
      },
    },
    formats: {
      customizers: {
        async jwt(ctx, token, jwt) {
          const client = config.clients.find((c) => c.client_id === token.clientId);
          const user = token.accountId ? byId.get(token.accountId) : serviceAccount(client);
          Object.assign(jwt.payload, keycloakClaims(user, token.clientId));
          jwt.header = { typ: 'JWT' };
        },
      },
    },
    routes: {
      jwks: '/protocol/openid-connect/certs',
      token: '/protocol/openid-connect/token',
      userinfo: '/protocol/openid-connect/userinfo',
      authorization: '/protocol/openid-connect/auth',
      end_session: '/protocol/openid-connect/logout',
    },
  });
  provider.registerGrantType('password', passwordGrant, ['username', 'password', 'scope']);
  return provider;
}

let handle = build(config.keys).callback();

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function admin(req, res, path) {
  if (path === '/admin/stats' && req.method === 'GET') return reply(res, 200, stats);
  if (path === '/admin/stats' && req.method === 'DELETE') {
    for (const name of Object.keys(stats)) stats[name] = 0;
    return reply(res, 200, stats);
  }
  if (path === '/admin/keys' && req.method === 'POST') {
    let text = '';
    for await (const chunk of req) text += chunk;
    const { keys } = JSON.parse(text);
    handle = build(keys).callback(); // tokens are JWTs: nothing else needs to survive
    return reply(res, 200, { kids: keys.map((k) => k.kid) });
  }
  return reply(res, 404, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url, issuer).pathname;
  if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress)) {
    return reply(res, 403, { error: 'loopback only' });
  }
  if (path.startsWith('/admin/')) {
    return admin(req, res, path).catch((err) => reply(res, 400, { error: String(err) }));
  }
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return reply(res, 404, { error: 'no realm' });
  const inner = path.slice(prefix.length);
  if (inner === '/.well-known/openid-configuration') stats.discovery_requests += 1;
  if (inner === '/protocol/openid-connect/certs') stats.jwks_requests += 1;
  if (inner === '/protocol/openid-connect/token') stats.token_requests += 1;
  // Mounted like express's app.use(prefix, ...): oidc-provider derives its URLs from this pair.
  req.originalUrl = req.url;
  req.url = req.url.slice(prefix.length) || '/';
  res.on('finish', () => console.log(`${req.method} ${path} ${res.statusCode}`));
  return handle(req, res);
});

server.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
