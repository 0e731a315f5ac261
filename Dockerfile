# syntax=docker/dockerfile:1.7
# Stages: deps (all dependencies) → web (builds the SvelteKit client) → app (production node image)
# and nginx (the load balancer with the built client). docker-compose.yml builds `app` and `nginx`.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY web/package.json web/
COPY contract/package.json contract/
RUN npm ci --no-audit --no-fund

FROM deps AS web
COPY contract/ contract/
COPY web/ web/
RUN npm run build -w web

FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS app
ENV NODE_ENV=production \
	WEB_DIR=/app/web/build \
	DATA_DIR=/app/data
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules
COPY package.json tsconfig.json ./
COPY app app
COPY contract contract
COPY lib lib
COPY middlewares middlewares
COPY mixins mixins
COPY services services
COPY repl-commands repl-commands
COPY --from=web /app/web/build web/build
RUN mkdir -p /app/data/uploads && chown -R node:node /app/data
USER node
# 3000 API, 3001 socket gateway, 3030 Prometheus metrics, 9090 probes (/health, /ready)
EXPOSE 3000 3001 3030 9090
# Node 22 runs the TypeScript sources directly (type stripping); no build step for the server.
CMD ["node", "--disable-warning=DEP0174", "--max-semi-space-size=32", "app/server.ts"]

FROM nginx:1.27-alpine AS nginx
COPY nginx/nginx.conf /etc/nginx/nginx.conf
COPY --from=web /app/web/build /usr/share/nginx/html
