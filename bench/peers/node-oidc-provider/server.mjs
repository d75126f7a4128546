// Peer for Monban's bench/run.sh: panva's certified oidc-provider, configured like
// the Monban under test as far as it goes:
//   - three service clients (client_secret_basic, client_credentials) whose JWT access
//     tokens (resource indicator urn:bench:api, accessTokenFormat 'jwt') are signed with
//     RS256 (RSA-2048), ES256 (P-256) and EdDSA (Ed25519) respectively;
//   - one web client for refresh-token rotation (rotateRefreshToken: true; a reused
//     token revokes the grant, as in Monban) and introspection;
//   - storage: oidc-provider's default in-memory adapter (it ships no database
//     adapter; Monban writes every token family to SQLite), access tokens 300 s.
// Sign-in is not configured: the only built-in login (devInteractions) accepts any
// password without hashing it, so it would not be the same work as Monban's argon2id.
//
// Environment: PORT (required), BENCH_SECRET (client secret for every client),
// MINT_REFRESH=N and MINT_OUT=FILE: before listening, mint N refresh tokens (each its
// own grant, scope "openid offline_access api:read", resource urn:bench:api) and
// write them to FILE, one a line.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const secret = process.env.BENCH_SECRET || 'bench-secret-bench-secret-bench-secret';
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:bench:api';

function jwk(type, opts, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, opts);
  return { ...privateKey.export({ format: 'jwk' }), alg, kid, use: 'sig' };
}

const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256', 'rs256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'es256'),
  jwk('ed25519', {}, 'EdDSA', 'eddsa'),
];

const algOf = { 'svc-rs256': 'RS256', 'svc-es256': 'ES256', 'svc-eddsa': 'EdDSA' };
const service = (id) => ({
  client_id: id,
  client_secret: secret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'api:read',
});

const provider = new Provider(issuer, {
  clients: [
    service('svc-rs256'),
    service('svc-es256'),
    service('svc-eddsa'),
    {
      client_id: 'web',
      client_secret: secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys },
  scopes: ['openid', 'offline_access', 'api:read'],
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  rotateRefreshToken: true,
  ttl: { AccessToken: 300, ClientCredentials: 300, IdToken: 3600, RefreshToken: 2592000 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'api:read',
        audience: RESOURCE,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: algOf[client.clientId] || 'RS256' } },
      }),
    },
  },
});
provider.proxy = false;

async function mint(n, out) {
  const client = await provider.Client.find('web');
  const lines = [];
  for (let i = 0; i < n; i += 1) {
    const accountId = `user-${i % 100}`;
    const grant = new provider.Grant({ accountId, clientId: 'web' });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(RESOURCE, 'api:read');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: 'authorization_code',
      scope: 'openid offline_access api:read',
      resource: RESOURCE,
      authTime: Math.floor(Date.now() / 1000),
    });
    lines.push(await rt.save());
  }
  writeFileSync(out, `${lines.join('\n')}\n`);
}

if (process.env.MINT_REFRESH) {
  await mint(Number(process.env.MINT_REFRESH), process.env.MINT_OUT);
}
provider.listen(port, '127.0.0.1');
console.log(`oidc-provider listening on ${issuer}`);
