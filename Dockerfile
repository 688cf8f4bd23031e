# The chord-node image: one static executable in an empty root.
#
# Build the binary first (glibc static-pie; --target is needed so that
# proc-macro crates are still built for the host):
#   RUSTFLAGS='-C target-feature=+crt-static' cargo build --release \
#     --target x86_64-unknown-linux-gnu -p chord-node
# then `docker build -t chord-node .` (the .dockerignore sends only that
# binary), or let `chordctl up` build the same image from an in-memory context.
#
# No base image is pulled: FROM scratch works offline with the classic builder.
FROM scratch

LABEL org.opencontainers.image.title="chord-node" \
      org.opencontainers.image.description="Chord DHT node of a distributed in-memory key-value store" \
      org.opencontainers.image.licenses="MIT" \
      io.chordctl.role="node-image"

COPY target/x86_64-unknown-linux-gnu/release/chord-node /chord-node

# scratch has no /etc/passwd, so the user is numeric: nobody:nogroup.
USER 65534:65534

ENV CHORD_LISTEN=0.0.0.0:7000
EXPOSE 7000

HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/chord-node", "healthcheck"]

ENTRYPOINT ["/chord-node"]
