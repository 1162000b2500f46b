# backup-runner with the client programs its sources run.
#   docker build -t backup-runner .
#   docker run --rm -v /etc/backup-runner:/etc/backup-runner:ro -v backup-state:/var/lib/backup-runner \
#     -e BACKUP_PASSPHRASE backup-runner run /etc/backup-runner/nightly.json

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/esbuild-options.mjs scripts/code-cache.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
# tar, zstd and gnupg for the pipeline and restores; mysqldump/mariadb-dump, pg_dump,
# ssh and smbclient for the sources and destinations; tini reaps the dumpers' processes
# and passes SIGTERM on (a stopped container aborts its uploads and notifies the failure).
# Debian 12's postgresql-client is version 15: for newer servers install the matching
# client from apt.postgresql.org and set dump_command.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tini tar zstd gnupg \
      mariadb-client postgresql-client openssh-client smbclient \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY examples ./examples
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/backup-runner --create-home --shell /usr/sbin/nologin backups \
 && chmod 0700 /var/lib/backup-runner \
 && ln -s /app/bin/backup.js /usr/local/bin/backup
USER backups
VOLUME ["/var/lib/backup-runner"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/backup.js"]
CMD ["--help"]
