// The request pipeline, top to bottom. Each step is one file; nothing else happens here.
import Koa from 'koa';
import { authenticate } from './authn/authenticate.ts';
import { userinfoEndpoint } from './authn/userinfo.ts';
import { authorize } from './authz/authorize.ts';
import { envoyAuthEndpoint, forwardAuthEndpoint } from './authz/forward-auth.ts';
import { matchRoute } from './authz/match-route.ts';
import { accessLog } from './http/access-log.ts';
import type { RequestState } from './http/context.ts';
import { errorBoundary } from './http/error-boundary.ts';
import { readTarget } from './http/read-target.ts';
import { requestContext } from './http/request-context.ts';
import { type Endpoint, sidecarEndpoints } from './http/sidecar-endpoints.ts';
import { backchannelLogoutEndpoint } from './oidc/backchannel-logout.ts';
import { callbackEndpoint } from './oidc/callback.ts';
import { signOutEndpoint } from './oidc/sign-out.ts';
import { startEndpoint } from './oidc/start.ts';
import type { Runtime, Services } from './runtime.ts';
import { proxy } from './upstream/proxy.ts';

export function createApp(current: () => Runtime, services: Services): Koa<RequestState> {
  const app = new Koa<RequestState>();
  app.silent = true;
  const endpoints = new Map<string, Endpoint>([
    ['/userinfo', userinfoEndpoint(services)],
    ['/start', startEndpoint()],
    ['/callback', callbackEndpoint(services)],
    ['/sign_out', signOutEndpoint()],
    ['/backchannel_logout', backchannelLogoutEndpoint(services)],
    ['/auth', forwardAuthEndpoint(services)],
    ['/auth/', envoyAuthEndpoint(services)],
  ]);

  app.use(requestContext(current, services)); // runtime snapshot, request id, client address
  app.use(accessLog(services)); // one line and the metrics, whatever happens below
  app.use(errorBoundary(services)); // every failure below becomes its status
  app.use(readTarget()); // one Authorization header; a path that normalizes, or 400
  app.use(sidecarEndpoints(endpoints)); // {pathPrefix}/*: never proxied, no route rules
  app.use(matchRoute()); // first route whose glob and methods match
  app.use(authenticate(services)); // identity by the route's methods, or 401
  app.use(authorize(services)); // the route's allow rules, or 403
  app.use(proxy(services)); // identity headers in, then the app's answer out
  return app;
}
