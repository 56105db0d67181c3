# One image for every Herald role; the argument picks it: api, worker, bridge, migrate, all.
# Debian (glibc) base: the Temporal worker's native core-bridge does not load on musl/alpine.
FROM oven/bun:1.4

WORKDIR /app
ENV HERALD_ENV=production

# package-lock.json is npm's: bun migrates it, and --frozen-lockfile refuses a drifted lock.
COPY package.json package-lock.json ./
RUN bun install --production --frozen-lockfile

COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations

# Code stays root-owned (read-only to the app); only the data dir (HERALD_DATA_DIR) is writable.
RUN mkdir -p /app/.herald && chown bun:bun /app/.herald
USER bun

# No HEALTHCHECK here: worker and bridge serve no HTTP. docker-compose.yml checks the api itself.
EXPOSE 3000
ENTRYPOINT ["bun", "--max-http-header-size=262144", "src/main.ts"]
CMD ["api"]
