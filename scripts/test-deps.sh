#!/usr/bin/env bash
# What the test suite drives as real parts, installed when missing (Debian, as root), and the
# shared Redis on 127.0.0.1:6379 started when it does not answer. Run by `npm test` first.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

# command → Debian package
declare -A packages=(
  [redis-server]=redis-server
  [redis-sentinel]=redis-sentinel   # SessionStore contract tests through Sentinel
  [chromium]=chromium               # the end-to-end browser login
  [python3]=python3
  [htpasswd]=apache2-utils # real htpasswd files for the basic-auth tests
  # Deploy tests: a local "pod" (network and mount namespaces) and curl into it.
  [curl]=curl
  [ip]=iproute2
  [nsenter]=util-linux
  [unshare]=util-linux
  # Real forward-auth consumers (test/forward-auth/consumers.test.ts).
  [nginx]=nginx
  [caddy]=caddy
  # actionlint runs it on the workflows' shell steps (test/deploy/release.test.ts).
  [shellcheck]=shellcheck
)

missing=()
for command in "${!packages[@]}"; do
  have "$command" || missing+=("${packages[$command]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "test-deps: installing ${missing[*]}"
    apt-get update -qq
    # nginx and caddy must not start as services on install (port 80, in each other's way):
    # the tests run their own on free ports. policy-rc.d exit 101 tells invoke-rc.d not to.
    added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$added_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  else
    echo "test-deps: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if ! python3 -c 'import flask' 2>/dev/null; then
  echo "test-deps: installing Flask for the example app"
  python3 -m pip install --quiet -r examples/flask/requirements.txt || {
    echo "test-deps: python3 needs Flask: pip install -r examples/flask/requirements.txt" >&2
    exit 1
  }
fi

# Deploy tests: helm and kubeconform, and actionlint for the GitHub workflows, built once from
# the Go module proxy into Go's bin folder (where the tests look for them too; kept between runs
# on the same machine). kubectl comes with the machine.
gobin="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
for tool in helm@helm.sh/helm/v3/cmd/helm@v3.22.0 \
  kubeconform@github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0 \
  actionlint@github.com/rhysd/actionlint/cmd/actionlint@v1.7.12; do
  name="${tool%%@*}"
  if ! have "$name" && [ ! -x "$gobin/$name" ]; then
    echo "test-deps: building $name with go install (once)"
    go install "${tool#*@}"
  fi
done

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test-deps: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
