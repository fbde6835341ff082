# Every system dependency of formatforge in one image, so the same build and publish job
# runs on any CI:  docker build -t formatforge . && docker run --rm -v "$PWD:/work" formatforge
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip sudo git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/formatforge
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY src ./src
# scripts/setup installs the Debian packages and the Python environment it lists.
RUN scripts/setup --test && rm -rf /var/lib/apt/lists/*
ENV PATH="/opt/formatforge/.venv/bin:$PATH"
WORKDIR /work
ENTRYPOINT ["formatforge"]
CMD ["build"]
