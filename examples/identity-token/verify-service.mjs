// A service that believes no header: it verifies auth-sidecar's identity token against the
// sidecar's JWKS and answers who the caller is, or 401. Put it behind the sidecar, or let the
// app behind the sidecar pass the token on to it. Needs only jose (npm install jose).
//   JWKS_URL=http://127.0.0.1:4180/oauth2/jwks.json AUDIENCE=legacy-app PORT=5000 node verify-service.mjs
import { createServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const env = process.env;
const keys = createRemoteJWKSet(new URL(env.JWKS_URL ?? 'http://127.0.0.1:4180/oauth2/jwks.json'));
const expected = {
  issuer: env.ISSUER ?? 'auth-sidecar', // identityToken.issuer (default: publicUrl, else "auth-sidecar")
  audience: env.AUDIENCE ?? 'legacy-app', // identityToken.audience (default: the upstream.url origin)
  algorithms: ['ES256', 'ES384', 'EdDSA', 'RS256'],
};
const header = (env.IDENTITY_HEADER ?? 'X-Auth-Sidecar-Identity').toLowerCase();

const server = createServer(async (req, res) => {
  const answer = (status, body) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  try {
    const token = req.headers[header];
    if (typeof token !== 'string') return answer(401, { error: 'no identity token' });
    const { payload } = await jwtVerify(token, keys, expected);
    answer(200, { user: payload.sub, email: payload.email ?? null, groups: payload.groups, via: payload.auth_method });
  } catch {
    answer(401, { error: 'invalid identity token' });
  }
});
server.listen(Number(env.PORT ?? 5000), '127.0.0.1', () => {
  console.log(`verify-service listening on http://127.0.0.1:${server.address().port}`);
});
