# Debian's PgBouncer (1.18 on bookworm), the one the fleet test runs (tests/_util/pgbouncer.ts).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends pgbouncer && rm -rf /var/lib/apt/lists/*
# The password comes from the environment at start, never from the image: userlist.txt is
# written into the container's /run, readable by pgbouncer's user only.
COPY --chmod=755 <<'SH' /usr/local/bin/start-pgbouncer
#!/bin/sh
set -eu
umask 077
printf '"%s" "%s"\n' "$PGBOUNCER_USER" "$PGBOUNCER_PASSWORD" > /run/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
SH
RUN mkdir -p /run/pgbouncer && chown postgres:postgres /run/pgbouncer
USER postgres
EXPOSE 6432
CMD ["/usr/local/bin/start-pgbouncer"]
