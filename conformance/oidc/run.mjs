// Drives a running Monban with openid-client (panva's certified RP library):
// discovery, authorization code + PKCE through the HTML login form (plain HTTP,
// a cookie jar, no browser), ID token validation, userinfo, refresh, introspection,
// revocation, end-session, client_credentials, and the negative cases.
//
// Environment (set by run.sh): MONBAN_ISSUER, WEB_CLIENT_ID, WEB_CLIENT_SECRET,
// PUBLIC_CLIENT_ID, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, USER_EMAIL, USER_PASSWORD.
import * as client from 'openid-client';
import assert from 'node:assert/strict';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};
const ISSUER = env('MONBAN_ISSUER');
const REDIRECT = 'https://rp.example.com/cb';
const insecure = { execute: [client.allowInsecureRequests] };

// ---------------------------------------------------------------- a tiny browser

class Browser {
  constructor() { this.jar = new Map(); }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  store(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (attrs.some((a) => /max-age=0/i.test(a.trim())) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers || {});
    if (this.jar.size) headers.set('cookie', this.cookieHeader());
    headers.set('accept', 'text/html');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(res);
    return res;
  }
}

const hidden = (html, name) => {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m ? m[1].replaceAll('&amp;', '&').replaceAll('&quot;', '"') : undefined;
};

/// Follows redirects inside Monban, posting the login (and consent) form, until
/// Monban sends the browser to the RP. Returns that URL, or { status, html }.
async function drive(browser, startUrl, creds) {
  let url = new URL(startUrl);
  for (let i = 0; i < 10; i++) {
    const res = await browser.fetch(url);
    const loc = res.headers.get('location');
    if (loc) {
      const next = new URL(loc, url);
      if (!next.href.startsWith(ISSUER)) return next;
      url = next;
      continue;
    }
    const html = await res.text();
    if (url.pathname === '/login' && res.status === 200 && creds) {
      const body = new URLSearchParams({
        username: creds.email,
        password: creds.password,
        csrf_token: hidden(html, 'csrf_token'),
      });
      const ret = hidden(html, 'return_to');
      if (ret) body.set('return_to', ret);
      const r = await browser.fetch(new URL('/login', ISSUER), {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(r.status, 303, 'login accepted');
      url = new URL(r.headers.get('location'), ISSUER);
      creds = undefined;
      continue;
    }
    return { status: res.status, html };
  }
  throw new Error('too many redirects');
}

// ---------------------------------------------------------------- the checks

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok     ${name}`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAILED ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

const creds = { email: env('USER_EMAIL'), password: env('USER_PASSWORD') };
const web = await client.discovery(new URL(ISSUER), env('WEB_CLIENT_ID'), undefined, client.ClientSecretBasic(env('WEB_CLIENT_SECRET')), insecure);
const browser = new Browser();

async function codeFlow(config, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile email offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const back = await drive(browser, url, creds);
  assert.ok(back instanceof URL, `redirected back to the RP, got ${JSON.stringify(back).slice(0, 300)}`);
  return { back, verifier, state, nonce };
}

let tokens;
let sub;

await check('discovery: issuer and endpoints', async () => {
  const m = web.serverMetadata();
  assert.equal(m.issuer, ISSUER);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
    assert.ok(m[k]?.startsWith(ISSUER), k);
  }
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
});

let reusable;
await check('authorization code + PKCE through the login form; ID token validated', async () => {
  const f = await codeFlow(web);
  reusable = f;
  tokens = await client.authorizationCodeGrant(web, f.back, {
    pkceCodeVerifier: f.verifier,
    expectedState: f.state,
    expectedNonce: f.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.ok(claims.sub && claims.auth_time && claims.sid);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.ok(tokens.refresh_token, 'refresh token issued');
  sub = claims.sub;
});

await check('userinfo', async () => {
  const ui = await client.fetchUserInfo(web, tokens.access_token, sub);
  assert.equal(ui.email, creds.email);
  assert.ok(ui.name);
});

await check('refresh token rotation', async () => {
  const old = tokens.refresh_token;
  const next = await client.refreshTokenGrant(web, old);
  assert.notEqual(next.refresh_token, old);
  assert.equal(next.claims().sub, sub);
  // The same token again within tokens.refresh_retry_grace_secs (a confidential client
  // that lost the answer): a new token, and the one it never saw is retired...
  const again = await client.refreshTokenGrant(web, old);
  assert.notEqual(again.refresh_token, next.refresh_token);
  // ...so presenting that one is a replay, which revokes the whole grant.
  await assert.rejects(client.refreshTokenGrant(web, next.refresh_token), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(web, again.refresh_token), (e) => e.error === 'invalid_grant');
  await assert.rejects(client.refreshTokenGrant(web, old), (e) => e.error === 'invalid_grant');
});

await check('introspection and revocation', async () => {
  const f = await codeFlow(web);
  const t = await client.authorizationCodeGrant(web, f.back, { pkceCodeVerifier: f.verifier, expectedState: f.state, expectedNonce: f.nonce });
  const i = await client.tokenIntrospection(web, t.access_token);
  assert.equal(i.active, true);
  assert.equal(i.sub, sub);
  assert.equal((await client.tokenIntrospection(web, t.refresh_token)).active, true);
  await client.tokenRevocation(web, t.refresh_token);
  assert.equal((await client.tokenIntrospection(web, t.refresh_token)).active, false);
  assert.equal((await client.tokenIntrospection(web, t.access_token)).active, false, 'revoking the grant kills its access tokens');
  tokens = t;
});

await check('negative: reused authorization code', async () => {
  await assert.rejects(
    client.authorizationCodeGrant(web, reusable.back, { pkceCodeVerifier: reusable.verifier, expectedState: reusable.state, expectedNonce: reusable.nonce }),
    (e) => e.error === 'invalid_grant',
  );
});

await check('negative: wrong PKCE verifier', async () => {
  const f = await codeFlow(web);
  await assert.rejects(
    client.authorizationCodeGrant(web, f.back, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: f.state, expectedNonce: f.nonce }),
    (e) => e.error === 'invalid_grant',
  );
});

await check('negative: unregistered redirect_uri gets an error page, never a redirect', async () => {
  const url = client.buildAuthorizationUrl(web, { redirect_uri: 'https://evil.example.com/cb', scope: 'openid', state: 'x' });
  const res = await browser.fetch(url);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null);
});

await check('negative: wrong client secret', async () => {
  const bad = await client.discovery(new URL(ISSUER), env('WEB_CLIENT_ID'), undefined, client.ClientSecretBasic('not-the-secret'), insecure);
  const f = await codeFlow(web);
  await assert.rejects(
    client.authorizationCodeGrant(bad, f.back, { pkceCodeVerifier: f.verifier, expectedState: f.state, expectedNonce: f.nonce }),
    (e) => e.error === 'invalid_client' || e.cause?.error === 'invalid_client' || e.name === 'WWWAuthenticateChallengeError',
  );
});

await check('public client (none auth) with PKCE', async () => {
  const pub = await client.discovery(new URL(ISSUER), env('PUBLIC_CLIENT_ID'), undefined, client.None(), insecure);
  const f = await codeFlow(pub, { scope: 'openid' });
  const t = await client.authorizationCodeGrant(pub, f.back, { pkceCodeVerifier: f.verifier, expectedState: f.state, expectedNonce: f.nonce });
  assert.equal(t.claims().sub, sub);
});

await check('client_credentials (service client)', async () => {
  const svc = await client.discovery(new URL(ISSUER), env('SERVICE_CLIENT_ID'), undefined, client.ClientSecretBasic(env('SERVICE_CLIENT_SECRET')), insecure);
  const t = await client.clientCredentialsGrant(svc, { scope: 'api:read' });
  assert.equal(t.token_type.toLowerCase(), 'bearer');
  assert.equal(t.scope, 'api:read');
  const i = await client.tokenIntrospection(svc, t.access_token);
  assert.equal(i.active, true);
  assert.equal(i.client_id, env('SERVICE_CLIENT_ID'));
});

await check('RP-initiated logout (end_session) ends the session', async () => {
  // Without offline_access, the grant lives and dies with the session.
  const f = await codeFlow(web, { scope: 'openid email' });
  const t = await client.authorizationCodeGrant(web, f.back, { pkceCodeVerifier: f.verifier, expectedState: f.state, expectedNonce: f.nonce });
  const url = client.buildEndSessionUrl(web, {
    id_token_hint: t.id_token,
    post_logout_redirect_uri: 'https://rp.example.com/bye',
    state: 'logout-state',
  });
  const res = await browser.fetch(url);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), 'https://rp.example.com/bye?state=logout-state');
  assert.equal((await client.tokenIntrospection(web, t.access_token)).active, false);
  // The browser must sign in again.
  const again = await drive(browser, client.buildAuthorizationUrl(web, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'none', state: 's' }));
  assert.equal(again.searchParams.get('error'), 'login_required');
});

const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
