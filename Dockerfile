# GrandLyon Connect — production image: compiled JavaScript, Node 22, non-root.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
# One process per container: the orchestrator adds containers (GLC_WORKERS=auto would count the
# host's cores, not the container's CPU limit). Set GLC_WORKERS to the CPU limit to use node:cluster.
ENV NODE_ENV=production PORT=3000 GLC_WORKERS=1
# Memory (docs/performance.md): a bounded heap per process (each cluster worker too), and two glibc
# malloc arenas instead of eight per core: WebCrypto signatures and argon2id run on libuv's threads,
# each of which would otherwise keep an arena of its own (code flow peak 216 → 167 MiB, logins
# 212 → 201 MiB, throughput within the noise). GLIBC_TUNABLES: every block over 128 KiB (argon2id's
# 19 MiB) is mapped on its own and given back when freed, instead of glibc raising that threshold
# and keeping the blocks (login peak 216 → 164 MiB); on transparent huge pages (hugetlb=1, used when
# the host's THP mode is "madvise" or "always") so mapping them anew costs ~10 page faults, not
# ~5,000: logins/s unchanged (× 1.05 paired; × 0.88 without hugetlb).
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=8" MALLOC_ARENA_MAX=2 GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=131072
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node views ./views
COPY --chown=node:node bin ./bin
COPY --chown=node:node fixtures ./fixtures
COPY --chown=node:node docs ./docs
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The bundled server (scripts/bundle.ts): half the cold start of dist/src/main.js.
CMD ["node", "dist/bundle/main.js"]
