# The chord-node image: one static executable in an empty root.
#
# Build the binary first, from the repository root:
#   make build
# (the static release build: RUSTFLAGS='-C target-feature=+crt-static'
# cargo build --release --target x86_64-unknown-linux-gnu -p chord-node),
# then `docker build -t chord-node .` (the .dockerignore sends only this file
# and that binary), `cd compose && docker compose up`, or let `chordctl up`
# build the same image from an in-memory context.
#
# No base image is pulled: FROM scratch works offline with the classic
# builder (docker-compose 1.x, the engine API) and with BuildKit (Compose v2).

# Stage 1 takes whatever the build context holds of the binary. `[t]arget` is
# a pattern, and a pattern that matches nothing is no error as long as another
# source (this Dockerfile) exists, so a fresh clone gets this far; the stage
# is never part of the image.
FROM scratch AS context
COPY ["Dockerfile", "[t]arget/x86_64-unknown-linux-gnu/release/chord-node", "/chord-node is not built: run `make build` first/"]

# Without the binary this COPY fails at once, with both builders, and its
# error names the missing path: the command to run.
FROM scratch
COPY --from=context ["/chord-node is not built: run `make build` first/chord-node", "/chord-node"]

LABEL org.opencontainers.image.title="chord-node" \
      org.opencontainers.image.description="Chord DHT node of a distributed in-memory key-value store" \
      org.opencontainers.image.licenses="MIT" \
      io.chordctl.role="node-image"

# scratch has no /etc/passwd, so the user is numeric: nobody:nogroup.
USER 65534:65534

ENV CHORD_LISTEN=0.0.0.0:7000
EXPOSE 7000

HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/chord-node", "healthcheck"]

ENTRYPOINT ["/chord-node"]
