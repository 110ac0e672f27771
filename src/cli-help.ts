// The help texts of `auth-sidecar` and each of its commands (`auth-sidecar CMD --help`), and
// the one-line usage a usage error repeats. Plain text, 80 columns, no colours.

export type CommandName = 'serve' | 'check-config' | 'hash-password' | 'explain';

const CONFIG_OPTION = `  -c, --config FILE     the YAML config file (default: $AUTH_SIDECAR_CONFIG); any
                        key can also be set by an AUTH_SIDECAR_* variable (docs/configuration.md)`;
const HELP_OPTION = '  -h, --help            this text';

export const USAGE: Readonly<Record<CommandName, string>> = {
  serve: 'usage: auth-sidecar [serve] [--config FILE]',
  'check-config': 'usage: auth-sidecar check-config [--config FILE]',
  'hash-password': 'usage: auth-sidecar hash-password [--user NAME] [< password]',
  explain:
    'usage: auth-sidecar explain [--config FILE] [-X METHOD] [-H "Name: value"]... [--peer IP]\n' +
    '                            [--token JWT | --basic USER:PASSWORD | --claims JSON [--via jwt|session]]\n' +
    '                            [--cert FILE] PATH',
};

export const OVERVIEW = `usage: auth-sidecar [serve] [--config FILE]   run the proxy
       auth-sidecar check-config [--config FILE]   validate a config (exit 0 or 78)
       auth-sidecar hash-password [--user NAME]   print a bcrypt htpasswd hash
       auth-sidecar explain [options] PATH   show which route and rule decide a request
       auth-sidecar --version

"auth-sidecar COMMAND --help" explains each command and its options.`;

export const HELP: Readonly<Record<CommandName, string>> = {
  serve: `${USAGE.serve}

Runs the proxy. The main listener (listen, default 0.0.0.0:4180) authenticates every
request, applies the route rules and forwards what it allows to upstream.url; the admin
listener (admin.listen, default 0.0.0.0:4181) answers /healthz, /readyz and /metrics.
Every log line is JSON on stdout.

options:
${CONFIG_OPTION}
${HELP_OPTION}

SIGHUP, or a change of the config or of a file it names, reloads (an invalid new config is
refused and the running one stays). SIGTERM or SIGINT drains: /readyz turns 503, requests
in flight finish within shutdownTimeoutSeconds.

exit codes: 0 stopped cleanly; 1 runtime failure (a port is taken, or connections had to be
cut at shutdown); 64 bad usage; 78 invalid config, one "config: key.path: problem" line
per problem on stderr.`,

  'check-config': `${USAGE['check-config']}

Validates the config and every file it names (htpasswd, groups, keys, secrets) without
listening or calling the network, then prints one line: the listen address, the upstream
and the configured methods.

options:
${CONFIG_OPTION}
${HELP_OPTION}

exit codes: 0 valid; 64 bad usage; 78 invalid, one "config: key.path: problem" line per
problem on stderr (secrets are never shown).`,

  'hash-password': `${USAGE['hash-password']}

Prints the bcrypt hash (cost 10) of a password, as an htpasswd file holds it, or a whole
"NAME:hash" line with --user. On a terminal it asks for the password twice without showing
it, and refuses the two if they differ. Otherwise it reads the password from stdin (one
trailing newline is not part of it). The password is never an argument: arguments show in
ps and in the shell's history.

options:
  -u, --user NAME       print "NAME:hash", a line for the htpasswd file
${HELP_OPTION}

examples:
  auth-sidecar hash-password --user bob >> htpasswd          (asks on the terminal)
  printf '%s' "$PASSWORD" | auth-sidecar hash-password --user bob >> htpasswd

exit codes: 0 printed; 64 bad usage, no password, a mismatch, or one over 72 bytes.`,

  explain: `${USAGE.explain}

Shows what the sidecar would decide for one request: the normalized path, the route that
matches, what it asks for, the identity, and the decision (allowed, 401, 403, 400, or a
302 to the login), with the same code the request path runs. Nothing reaches the app or
the configured Redis (sessions and lockout counters are kept in memory).

PATH is the request target as a client sends it, query included: '/static/../admin?x=1'.

options:
${CONFIG_OPTION}
  -X, --method METHOD   the request method (default GET)
  -H, --header "Name: value"
                        a request header, as with curl -H; repeat it for more. For
                        example -H "Accept: text/html" to see what a browser gets, or
                        -H "Origin: ..." with -X OPTIONS for a CORS preflight
  --peer IP             the address the request comes from (default 127.0.0.1), for
                        allow.sourceCidrs; behind trustedProxies, X-Forwarded-For is read
                        from it as the sidecar would
${HELP_OPTION}

the credential, at most one of:
  --token JWT           a bearer token, verified as a request's would be: signature with
                        the configured keys (a jwksUri is fetched), exp, iss, aud
  --token -             read the token from stdin (it then shows neither in ps nor in
                        the shell's history)
  --basic USER:PASSWORD basic credentials, checked against the htpasswd file
  --basic -             read USER:PASSWORD from stdin
  --claims JSON         skip verification and take an identity with these claims, as a
                        verified token would give it: '{"sub":"bob","groups":["dev"]}'
  --via jwt|session     the method the --claims identity stands for (default jwt): a
                        route whose auth does not list it refuses it; session maps the
                        claims with oidc.claims, jwt with the jwt entry of their iss
  --cert FILE           a client certificate (PEM, its chain after it) as the client would
                        present it: checked against tls.clientCaFile (chain, dates, purpose)
                        and mapped by mtls.claims; may go with one credential above

exit codes: 0 whatever the decision; 64 bad usage; 78 invalid config.`,
};
