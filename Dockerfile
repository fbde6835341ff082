# formatforge for running, not testing: the build and publish commands with every system
# dependency they need at run time (scripts/requirements/apt.txt, plus rclone for
# publishing), and none of the test toolchain (Chromium, Java, Node, pandoc, daisy-player).
#
#   docker build -t formatforge .
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" formatforge build
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" -e RCLONE_CONFIG=/work/rclone.conf \
#       formatforge publish outputs --to "drive:Accessible versions"
#
# `-u "$(id -u):$(id -g)"` runs as you, so outputs/ and the speech cache are yours, not
# root's; without it the image runs as its own unprivileged user (uid and gid 10001), never
# root. scripts/docker-smoke builds the image and checks all of this.
# To run the validators and the tests, use scripts/test on a Debian machine or in CI.
#
# The base is pinned by an exact dated tag, one particular build of Debian 12 slim, so that
# every image has the same system libraries (liblouis, eSpeak NG and LibreOffice decide the
# braille, audio and PDF bytes); a moving tag such as debian:12-slim would change them
# under us. A digest would pin it harder, but no registry could be reached to read one when
# this was written: add `@sha256:…` from `docker pull debian:bookworm-20241202-slim` when
# you can. Both stages use the same base, so the virtual environment's python3 link
# (/usr/bin/python3) is the same in each.
#
# BASE is an argument only so that a machine that cannot reach Docker Hub can build on a
# Debian 12 it made itself (scripts/docker-smoke does this with debootstrap); leave it unset
# and the pinned tag above is what you get.
ARG BASE=debian:bookworm-20241202-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# A normal (not editable) install: the image carries no source tree, only the package.
# Behind a proxy that inspects TLS, pip needs the proxy's CA: give it as a build secret,
# `--secret id=pip-cert,src=/etc/ssl/certs/ca-certificates.crt`; a secret is mounted for this
# one step only and is in no layer of the image.
RUN --mount=type=secret,id=pip-cert \
    if [ -s /run/secrets/pip-cert ]; then export PIP_CERT=/run/secrets/pip-cert; fi \
    && python3 -m venv /opt/formatforge \
    && /opt/formatforge/bin/pip install . \
    && /opt/formatforge/bin/python -m compileall -q /opt/formatforge/lib

FROM ${BASE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/requirements/apt.txt /tmp/apt.txt
# The runtime packages are the ones scripts/setup installs (one list for both), plus rclone.
RUN apt-get update \
    && grep -v '^\s*\(#\|$\)' /tmp/apt.txt | xargs apt-get install -y --no-install-recommends \
        python3 ca-certificates rclone \
    && rm -rf /var/lib/apt/lists/* /tmp/apt.txt
COPY --from=build /opt/formatforge /opt/formatforge
# liblouis's Python module comes from Debian (the PyPI "louis" is an unrelated stub), as in
# scripts/setup: link only that package into the environment.
RUN site=$(/opt/formatforge/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
    && ln -s "$(find /usr/lib/python3/dist-packages -maxdepth 1 -name louis -type d | head -n 1)" "$site/louis" \
    && /opt/formatforge/bin/python -c 'import louis' \
    && groupadd --gid 10001 formatforge \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin formatforge
# HOME is /tmp so that any user -u gives (with no home of its own) can still write the
# settings LibreOffice and rclone keep there. The build's cache (synthesised speech) goes in
# the mounted folder, /work/.cache/formatforge, so that it outlives the container.
ENV PATH="/opt/formatforge/bin:$PATH" HOME=/tmp PYTHONDONTWRITEBYTECODE=1 XDG_CACHE_HOME=/work/.cache
USER formatforge
WORKDIR /work
ENTRYPOINT ["formatforge"]
CMD ["build"]
