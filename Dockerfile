# syntax=docker/dockerfile:1
# auth-sidecar: build with dev dependencies, run with production ones only.
#
#   docker build -t auth-sidecar:0.2.0 .
#   docker run --rm -v "$PWD/config.yaml:/etc/auth-sidecar/config/config.yaml:ro" \
#     --read-only --tmpfs /tmp -p 4180:4180 -p 4181:4181 auth-sidecar:0.2.0
#
# What the run stage guarantees (test/deploy/dockerfile.test.ts checks these rules):
# - a numeric non-root user, so Kubernetes can verify runAsNonRoot;
# - nothing is written outside /tmp, so readOnlyRootFilesystem works;
# - node is PID 1 through an exec-form ENTRYPOINT (no shell, no npm in between), so SIGTERM
#   reaches the drain handler; the sidecar starts no child processes, so no init is needed;
# - no npm, no dev dependencies, no sources: only dist/, production node_modules, package.json.

ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` dev dependency would fetch a second Node; the image has one.
RUN npm ci --no-audit --no-fund --ignore-scripts
# The bundle (scripts/build.ts, esbuild): what dist/ holds is all the sidecar loads at run time
# but the native bcrypt binding, which comes from the production dependencies.
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN node scripts/build.ts

FROM node:${NODE_VERSION}-bookworm-slim AS production-dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
LABEL org.opencontainers.image.title="auth-sidecar" \
      org.opencontainers.image.description="Authentication sidecar: JWT, OIDC and basic auth in front of an app that has none" \
      org.opencontainers.image.licenses="MIT"
# The package managers are not needed to run, and are the image's largest attack surface.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
ENV NODE_ENV=production \
    AUTH_SIDECAR_CONFIG=/etc/auth-sidecar/config/config.yaml
WORKDIR /app
COPY --from=production-dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# uid/gid 1000 is the image's `node` user; numeric so that runAsNonRoot can be checked.
USER 1000:1000
EXPOSE 4180 4181
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4181/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve"]
