# syntax=docker/dockerfile:1
# One image for the API, both consumers and the one-shot migrate service (compose.yaml picks the
# command). The project pins its Bun as an npm dev dependency and locks it in package-lock.json,
# so the image is built the way a developer's machine is: Node + `npm ci`, then the Bun that npm
# installed runs the TypeScript. (oven/bun would bring its own Bun and would have to re-resolve
# package-lock.json with `bun install`; this keeps one lockfile and one Bun version.)
# Dev dependencies stay in: Bun itself, dbmate and clickhouse-migrations are among them.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/ensure-deps.sh scripts/
# The same install as a developer's machine (npm ci, or npm install with the same lockfile when
# npm ci refuses; see the script). Bun's postinstall must run; check the binary works.
RUN sh scripts/ensure-deps.sh && node_modules/.bin/bun --version

FROM node:22-bookworm-slim
ENV HTTP_HOST=0.0.0.0 \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node . .
# The image's unprivileged user (uid 1000).
USER node
EXPOSE 3000
CMD ["bun", "src/server.ts"]
