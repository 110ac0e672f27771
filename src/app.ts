// The request pipeline, top to bottom. Each step is one file; nothing else happens here.
import Koa from 'koa';
import type { Runtime, Services } from './decision/runtime.ts';
import { backchannelLogoutEndpoint } from './endpoints/backchannel-logout.ts';
import { callbackEndpoint } from './endpoints/callback.ts';
import { envoyAuthEndpoint, forwardAuthEndpoint } from './endpoints/forward-auth.ts';
import { jwksEndpoint } from './endpoints/jwks.ts';
import { signOutEndpoint } from './endpoints/sign-out.ts';
import { startEndpoint } from './endpoints/start.ts';
import { userinfoEndpoint } from './endpoints/userinfo.ts';
import { accessLog } from './http/access-log.ts';
import type { RequestState } from './http/context.ts';
import { decideRequest } from './http/decide-request.ts';
import { errorBoundary } from './http/error-boundary.ts';
import { proxy } from './http/proxy.ts';
import { readRequest } from './http/read-request.ts';
import { requestContext } from './http/request-context.ts';
import { type Endpoint, sidecarEndpoints } from './http/sidecar-endpoints.ts';

export function createApp(current: () => Runtime, services: Services): Koa<RequestState> {
  const app = new Koa<RequestState>();
  app.silent = true;
  const endpoints = new Map<string, Endpoint>([
    ['/userinfo', userinfoEndpoint()],
    ['/start', startEndpoint()],
    ['/callback', callbackEndpoint(services)],
    ['/sign_out', signOutEndpoint()],
    ['/backchannel_logout', backchannelLogoutEndpoint(services)],
    ['/auth', forwardAuthEndpoint(services)],
    ['/auth/', envoyAuthEndpoint(services)],
    ['/jwks.json', jwksEndpoint()],
  ]);

  app.use(requestContext(current, services)); // runtime snapshot, request id, client address
  app.use(accessLog(services)); // one line and the metrics, whatever happens below
  app.use(errorBoundary(services)); // every failure below becomes its status
  app.use(readRequest()); // the facts: one Host, one Authorization, a path that normalizes, or 400
  // decision/decide.ts: {pathPrefix}/* endpoint, or route → public | authenticate → authorize;
  // a refusal is answered here (401 with challenges, 302 to the login for a browser, 403, 429).
  app.use(decideRequest(services));
  app.use(sidecarEndpoints(endpoints)); // {pathPrefix}/*: never proxied, no route rules
  app.use(proxy(services)); // identity headers in, then the app's answer out
  return app;
}
