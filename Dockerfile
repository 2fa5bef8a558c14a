# nosterm: multi-stage build. The builder compiles the release binary and builds the search
# index of the shipped data once (by serving it until ready), so replicas start fast and are
# stateless: the image carries data + prebuilt index. A data refresh is a new image (or
# POST /admin/reload with a mounted folder); see deploy/.
#   docker build -t nosterm:$(date +%Y%m) .
#   docker run -p 8080:8080 nosterm:$(date +%Y%m)
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY assets assets
COPY benches benches
COPY examples examples
COPY tests tests
COPY vendor vendor
RUN cargo build --release --locked --bin nosterm && strip target/release/nosterm
COPY data data
RUN set -eu; \
    target/release/nosterm check --data data; \
    target/release/nosterm serve --addr 127.0.0.1:18080 --data data --index /out/index & pid=$!; \
    for i in $(seq 1 600); do \
      if curl -fsS http://127.0.0.1:18080/health/ready >/dev/null 2>&1; then break; fi; sleep 0.5; \
    done; \
    curl -fsS http://127.0.0.1:18080/health/ready; kill $pid; wait $pid || true; \
    cp -r data /out/data

# The refresh job's image (deploy/nosterm-refresh.yaml): the same binary for `nosterm check`,
# python3 (standard library only) for scripts/refresh. Not the default target:
#   docker build --target refresh -t nosterm-refresh .
FROM debian:bookworm-slim AS refresh
RUN apt-get update && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 nosterm
COPY --from=build /src/target/release/nosterm /usr/local/bin/nosterm
COPY scripts/refresh /opt/nosterm/scripts/refresh
USER nosterm
ENTRYPOINT ["/opt/nosterm/scripts/refresh"]

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /srv/nosterm nosterm
COPY --from=build /src/target/release/nosterm /usr/local/bin/nosterm
COPY --from=build --chown=nosterm /out/data /srv/nosterm/data
COPY --from=build --chown=nosterm /out/index /srv/nosterm/index
USER nosterm
WORKDIR /srv/nosterm
ENV NOSTERM_ADDR=0.0.0.0:8080 NOSTERM_DATA=/srv/nosterm/data NOSTERM_INDEX=/srv/nosterm/index \
    NOSTERM_LOG=info NOSTERM_LOG_FORMAT=json
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nosterm", "serve"]
