# egressd container image: multi-stage, non-root at run time.
#
#   docker build -t egressd .
#   # init container (needs NET_ADMIN, runs as root, exits):
#   docker run --rm --cap-add NET_ADMIN --network container:SANDBOX \
#       --user 0 egressd init
#   # sidecar (shares the sandbox's network namespace):
#   docker run -d --cap-add NET_ADMIN --network container:SANDBOX \
#       -v ./egressd.yaml:/etc/egressd/egressd.yaml:ro egressd
#
# NET_ADMIN lets the unprivileged egressd user set SO_MARK on upstream
# sockets (file capability below), which the init step's default
# `--mark 0x1e9d` exempts. Prefer that. Without it, `mark: 0` and
# `egress-redirect install --uid 15001` work, but then every process that
# can become uid 15001 bypasses egressd: root in the sandbox usually can
# (setpriv --reuid 15001). Use --uid only for sandboxes without root
# (docs/deploy.md).

FROM debian:12-slim AS build
LABEL egressd.stage=build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libevent-dev libssl-dev \
        libc-ares-dev libyaml-dev libpcre2-dev libjansson-dev libpsl-dev \
        libidn2-dev check \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEGRESS_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr/local \
    && cmake --build build -j"$(nproc)" \
    && DESTDIR=/out cmake --install build

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-pthreads-2.1-7 libssl3 libc-ares2 \
        libyaml-0-2 libpcre2-8-0 libjansson4 libpsl5 publicsuffix \
        libidn2-0 iptables libcap2-bin ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd -g 15001 egressd \
    && useradd -u 15001 -g egressd -d /var/lib/egressd -s /usr/sbin/nologin egressd \
    && mkdir -p /etc/egressd /var/lib/egressd /var/log/egressd /run/egressd \
    && chown egressd:egressd /var/lib/egressd /var/log/egressd /run/egressd
# Programs and the default config only: the systemd unit, sysusers and
# logrotate files that `cmake --install` also writes have no use here.
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
COPY --from=build /out/usr/local/etc/egressd/egressd.yaml /etc/egressd/egressd.yaml
COPY deploy/entrypoint.sh /usr/local/bin/egressd-entrypoint
RUN setcap cap_net_admin+ep /usr/local/bin/egressd
USER egressd
# GET /healthz on the admin socket (admin.socket in the config, egressctl's
# default /run/egressd/admin.sock). Docker and `podman build --format
# docker` keep it; OCI images have no HEALTHCHECK field.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["egressctl", "health"]
ENTRYPOINT ["/usr/local/bin/egressd-entrypoint"]
CMD ["run"]
