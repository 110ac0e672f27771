// The login endpoints exist only when oidc is configured; otherwise they are unknown paths.
import { NotFoundError } from '../errors.ts';
import type { Context } from '../http/context.ts';
import type { Login } from '../oidc/login.ts';

export function requireLogin(ctx: Context): Login {
  const { login } = ctx.state.runtime;
  if (login === undefined) throw new NotFoundError();
  return login;
}
