# syntax=docker/dockerfile:1
# The action's image: a static musl build of the `orchestrate` binary on an empty base.
# Root certificates are compiled into the binary (webpki-root-certs), so `scratch` needs no
# CA store; GitHub runs container actions as root, so there is no USER, and the runner sets
# the working directory (/github/workspace), so there is no WORKDIR.

FROM rust:1.95-bookworm AS build

# musl-gcc links C parts (ring) statically; no version pin: bookworm's musl-tools is frozen.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl

WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p orchestrate \
    && cp target/x86_64-unknown-linux-musl/release/orchestrate /orchestrate

FROM scratch

LABEL org.opencontainers.image.title="orchestrate" \
      org.opencontainers.image.description="Coordinated multi-repository releases on GitHub Actions" \
      org.opencontainers.image.source="https://github.com/pratiko/orchestrate" \
      org.opencontainers.image.licenses="MIT"

COPY --from=build /orchestrate /usr/local/bin/orchestrate

ENTRYPOINT ["/usr/local/bin/orchestrate", "action"]
