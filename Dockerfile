# peoplesync container image: a Debian 12 build stage that runs the project's
# own scripts, and a slim runtime with only the shared libraries the binary
# needs, a non-root user and one writable volume.
#
#   docker build -t peoplesync .
#   docker run --read-only --tmpfs /tmp -v peoplesync-state:/var/lib/peoplesync \
#     -e ZOHO_CLIENT_ID -e ZOHO_CLIENT_SECRET -e ZOHO_REFRESH_TOKEN -p 127.0.0.1:9464:9464 peoplesync
#
# No Docker engine runs where this is developed: scripts/check-container.sh
# checks what can be checked without one (a ctest entry runs it).

# ---- build stage: only the project's scripts run here ----------------------
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive PEOPLESYNC_DEPS=build
WORKDIR /src
COPY . .
RUN ./scripts/install-deps.sh
RUN ./scripts/build.sh -DCMAKE_BUILD_TYPE=Release -DPEOPLESYNC_BUILD_TESTS=OFF

# ---- runtime stage ----------------------------------------------------------
FROM debian:12-slim AS runtime
COPY deploy/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(grep -v '^#' /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 peoplesync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/peoplesync --no-create-home \
      --shell /usr/sbin/nologin peoplesync \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/peoplesync \
 && install -d -m 0755 /etc/peoplesync
COPY --from=build /src/build/daemon/peoplesync /usr/local/bin/peoplesync
COPY deploy/container-config.yaml /etc/peoplesync/config.yaml

# Config: /etc/peoplesync/config.yaml (mount your own over it); its secrets
# come from ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REFRESH_TOKEN. State:
# the volume below, the only path the service writes (run with --read-only).
ENV PEOPLESYNC_CONFIG=/etc/peoplesync/config.yaml
USER 10001:10001
WORKDIR /var/lib/peoplesync
VOLUME ["/var/lib/peoplesync"]
EXPOSE 9464
STOPSIGNAL SIGTERM
# /livez over bash's /dev/tcp: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /livez HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# JSON log lines on stdout: peoplesync logs to stderr, the shell joins the two
# and execs, so peoplesync is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["/bin/sh", "-c", "exec /usr/local/bin/peoplesync \"$@\" 2>&1", "peoplesync"]
CMD ["--log-format", "json"]
