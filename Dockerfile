# AtomicKV: the single binary on distroless, as a nonroot user, data in /data.
#
#   docker build --build-arg ATOMICKV_COMMIT=$(git rev-parse --short=12 HEAD) -t atomickv:0.1.0 .
#
# No Docker engine runs where this project is tested: test/ship/docker-image.test.ts
# reads this file, builds the final stage's root filesystem from the Debian
# packages distroless is made of, and runs it with chroot. It understands the
# instructions used here (it fails on others), and runs the build stage's RUN
# lines on the host, in a copy of the stage's WORKDIR, with the same Bun version.

# The project's Bun version (package.json "packageManager"; the test checks they agree).
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# The build has no .git: the commit for --version comes in as a build argument.
ARG ATOMICKV_COMMIT
RUN bun run build && mkdir -p data

# The binary links glibc only (libc, libm, libpthread, libdl): base, not cc.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /src/atomic_server /usr/local/bin/atomic_server
# A new named volume starts as a copy of this directory, so it is writable by nonroot.
COPY --from=build --chown=65532:65532 /src/data /data
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 8080
STOPSIGNAL SIGTERM
# Configure with ATOMICKV_* variables (-e), not flags: the healthcheck reads the same ones.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/atomic_server", "--ping"]
ENTRYPOINT ["/usr/local/bin/atomic_server", "--dir", "/data"]
