#!/usr/bin/env python3
"""Writes a deterministic set of realistic multi-stage Dockerfiles for the lint benchmark.

    gen.py OUT_DIR [COUNT]

COUNT (default 600) files named gen-NNNN-<kind>.Dockerfile: Go, Rust, C/CMake, autotools,
Node, Python, Java and "platform" services in the shapes real projects use (build stages
on $BUILDPLATFORM that cross-compile, naive stages that compile under emulation, xx
helpers, cache mounts, heredocs, several targets), 10 to 120 lines each, plus a few large
ones: a 500-line file with 50 stages and files of 150 to 400 lines. The same COUNT always
gives the same files (fixed seed), so runs are comparable.
"""

import os
import random
import re
import sys

GO_VERSIONS = ["1.21", "1.22", "1.23"]
RUST_VERSIONS = ["1.78", "1.79", "1.80"]
NODE_VERSIONS = ["18", "20", "22"]
PY_VERSIONS = ["3.10", "3.11", "3.12"]
DEBIANS = ["bookworm", "bullseye"]
ALPINES = ["3.18", "3.19", "3.20"]
NAMES = [
    "api", "worker", "gateway", "indexer", "scheduler", "billing", "auth", "notifier",
    "ingest", "exporter", "proxy", "agent", "relay", "search", "ledger", "mailer",
    "thumbnailer", "collector", "controller", "webhook", "cron", "migrator", "uploader",
]
RUNTIMES = [
    "gcr.io/distroless/static-debian12",
    "gcr.io/distroless/base-debian12",
    "alpine:{alpine}",
    "debian:{debian}-slim",
    "scratch",
    "ubuntu:22.04",
]


def pick(rng, xs):
    return xs[rng.randrange(len(xs))]


def header(rng, lines):
    if rng.random() < 0.4:
        lines.append("# syntax=docker/dockerfile:1")
    if rng.random() < 0.3:
        lines.append(f"# {pick(rng, NAMES)} service image, built by CI for amd64 and arm64")


def runtime_stage(rng, lines, name, binary, dest="/usr/local/bin"):
    rt = pick(rng, RUNTIMES).format(alpine=pick(rng, ALPINES), debian=pick(rng, DEBIANS))
    lines.append("")
    lines.append(f"FROM {rt}")
    if rt.startswith("alpine"):
        lines.append("RUN apk add --no-cache ca-certificates tzdata && adduser -D -u 10001 app")
    elif rt.startswith(("debian", "ubuntu")):
        lines.append("RUN apt-get update \\")
        lines.append(" && apt-get install -y --no-install-recommends ca-certificates \\")
        lines.append(" && rm -rf /var/lib/apt/lists/*")
    if rng.random() < 0.5:
        lines.append(f'LABEL org.opencontainers.image.title="{name}" \\')
        lines.append('      org.opencontainers.image.source="https://example.com/acme/' + name + '"')
    if rt == "scratch":
        lines.append(f"COPY --from={binary[0]} {binary[1]} /{name}")
        lines.append(f'ENTRYPOINT ["/{name}"]')
        return
    lines.append(f"COPY --from={binary[0]} {binary[1]} {dest}/{name}")
    if rng.random() < 0.5:
        lines.append(f"EXPOSE {pick(rng, ['8080', '8443', '9090', '3000'])}")
    if rng.random() < 0.3:
        lines.append(f'HEALTHCHECK --interval=30s CMD ["{dest}/{name}", "healthcheck"]')
    if rng.random() < 0.5:
        lines.append("USER 65532:65532")
    lines.append(f'ENTRYPOINT ["{dest}/{name}"]')


def go_file(rng):
    lines = []
    header(rng, lines)
    name = pick(rng, NAMES)
    gv = pick(rng, GO_VERSIONS)
    style = rng.randrange(5)
    if rng.random() < 0.5:
        lines.append(f"ARG GO_VERSION={gv}")
        image = "golang:${GO_VERSION}"
    else:
        image = f"golang:{gv}"
    if rng.random() < 0.4:
        image += "-alpine"
    lines.append("")
    if style == 0:  # naive: compiles under emulation
        lines.append(f"FROM {image} AS build")
        lines.append("WORKDIR /src")
        lines.append("COPY go.mod go.sum ./")
        lines.append("RUN go mod download")
        lines.append("COPY . .")
        lines.append(f"RUN CGO_ENABLED=0 go build -ldflags='-s -w' -o /out/{name} ./cmd/{name}")
    elif style == 1:  # hand-written cross
        lines.append(f"FROM --platform=$BUILDPLATFORM {image} AS build")
        lines.append("ARG TARGETOS TARGETARCH TARGETVARIANT")
        lines.append("WORKDIR /src")
        lines.append("COPY go.mod go.sum ./")
        lines.append("RUN --mount=type=cache,target=/go/pkg/mod go mod download")
        lines.append("COPY . .")
        lines.append("RUN --mount=type=cache,target=/go/pkg/mod \\")
        lines.append("    --mount=type=cache,target=/root/.cache/go-build \\")
        lines.append("    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \\")
        lines.append(f"    go build -trimpath -o /out/{name} ./cmd/{name}")
    elif style == 2:  # xx
        lines.append("FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.4.0 AS xx")
        lines.append("")
        lines.append(f"FROM --platform=$BUILDPLATFORM {image} AS build")
        lines.append("COPY --from=xx / /")
        if "alpine" in image:
            lines.append("RUN apk add --no-cache clang lld git")
            lines.append("ARG TARGETPLATFORM")
            lines.append("RUN xx-apk add --no-cache musl-dev gcc")
        else:
            lines.append("RUN apt-get update && apt-get install -y clang lld")
            lines.append("ARG TARGETPLATFORM")
            lines.append("RUN xx-apt-get install -y libc6-dev gcc")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append("ENV CGO_ENABLED=1")
        lines.append(f"RUN xx-go build -o /out/{name} ./cmd/{name} && xx-verify /out/{name}")
    elif style == 3:  # build platform but forgot GOARCH (ships the wrong arch)
        lines.append(f"FROM --platform=$BUILDPLATFORM {image} AS build")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append(f"RUN go build -o /out/{name} .")
    else:  # ENV + heredoc
        lines.append(f"FROM --platform=$BUILDPLATFORM {image} AS build")
        lines.append("ARG TARGETOS TARGETARCH")
        lines.append("ENV GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append("RUN <<EOF")
        lines.append("set -eux")
        lines.append("go vet ./...")
        lines.append(f"go build -o /out/{name} ./cmd/{name}")
        lines.append("EOF")
    if rng.random() < 0.3:
        lines.append("")
        lines.append("FROM build AS test")
        lines.append("RUN go test ./...")
    runtime_stage(rng, lines, name, ("build", f"/out/{name}"))
    return lines


def rust_file(rng):
    lines = []
    header(rng, lines)
    name = pick(rng, NAMES)
    rv = pick(rng, RUST_VERSIONS)
    style = rng.randrange(4)
    lines.append("")
    if style == 0:
        lines.append(f"FROM rust:{rv} AS build")
        lines.append("WORKDIR /usr/src/app")
        lines.append("COPY Cargo.toml Cargo.lock ./")
        lines.append("RUN mkdir src && echo 'fn main() {}' > src/main.rs && cargo build --release && rm -rf src")
        lines.append("COPY . .")
        lines.append("RUN cargo build --release")
        binary = ("build", f"/usr/src/app/target/release/{name}")
    elif style == 1:
        lines.append(f"FROM --platform=$BUILDPLATFORM rust:{rv}-bookworm AS build")
        lines.append("ARG TARGETARCH")
        lines.append("RUN apt-get update && apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross \\")
        lines.append(" && rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu")
        lines.append("ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append('RUN case "$TARGETARCH" in \\')
        lines.append("      amd64) t=x86_64-unknown-linux-gnu ;; \\")
        lines.append("      arm64) t=aarch64-unknown-linux-gnu ;; \\")
        lines.append("    esac \\")
        lines.append(' && cargo build --release --target "$t" \\')
        lines.append(f' && cp "target/$t/release/{name}" /{name}')
        binary = ("build", f"/{name}")
    elif style == 2:
        lines.append("FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx")
        lines.append(f"FROM --platform=$BUILDPLATFORM rust:{rv}-alpine AS build")
        lines.append("RUN apk add --no-cache clang lld musl-dev")
        lines.append("COPY --from=xx / /")
        lines.append("ARG TARGETPLATFORM")
        lines.append("RUN xx-apk add --no-cache musl-dev gcc")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append("RUN --mount=type=cache,target=/usr/local/cargo/registry \\")
        lines.append("    xx-cargo build --release --target-dir /build \\")
        lines.append(f' && cp /build/$(xx-cargo --print-target-triple)/release/{name} /{name}')
        binary = ("build", f"/{name}")
    else:
        lines.append(f"FROM lukemathwalker/cargo-chef:latest-rust-{rv} AS chef")
        lines.append("WORKDIR /app")
        lines.append("")
        lines.append("FROM chef AS planner")
        lines.append("COPY . .")
        lines.append("RUN cargo chef prepare --recipe-path recipe.json")
        lines.append("")
        lines.append("FROM chef AS builder")
        lines.append("COPY --from=planner /app/recipe.json recipe.json")
        lines.append("RUN cargo chef cook --release --recipe-path recipe.json")
        lines.append("COPY . .")
        lines.append(f"RUN cargo build --release --bin {name}")
        binary = ("builder", f"/app/target/release/{name}")
    runtime_stage(rng, lines, name, binary)
    return lines


def c_file(rng):
    lines = []
    header(rng, lines)
    name = pick(rng, NAMES)
    deb = pick(rng, DEBIANS)
    style = rng.randrange(4)
    lines.append("")
    if style == 0:
        lines.append(f"FROM debian:{deb} AS build")
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake ninja-build")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append("RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build")
        binary = ("build", f"/src/build/{name}")
    elif style == 1:
        lines.append(f"FROM --platform=$BUILDPLATFORM debian:{deb} AS build")
        lines.append("ARG TARGETARCH")
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends make gcc-aarch64-linux-gnu gcc-x86-64-linux-gnu")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append('RUN case "$TARGETARCH" in amd64) CC=x86_64-linux-gnu-gcc ;; arm64) CC=aarch64-linux-gnu-gcc ;; esac \\')
        lines.append(' && make CC="$CC" -j"$(nproc)"')
        binary = ("build", f"/src/{name}")
    elif style == 2:
        lines.append("FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx")
        lines.append("FROM --platform=$BUILDPLATFORM alpine:3.19 AS build")
        lines.append("RUN apk add --no-cache clang lld make autoconf automake libtool")
        lines.append("COPY --from=xx / /")
        lines.append("ARG TARGETPLATFORM")
        lines.append("RUN xx-apk add --no-cache musl-dev gcc")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append("RUN autoreconf -fi && CC=xx-clang ./configure --host=$(xx-info triple) && make && xx-verify " + name)
        binary = ("build", f"/src/{name}")
    else:
        lines.append(f"FROM gcc:13 AS build")
        lines.append("WORKDIR /src")
        lines.append("COPY . .")
        lines.append("RUN ./configure --prefix=/usr && make -j$(nproc) && make install DESTDIR=/out")
        binary = ("build", f"/out/usr/bin/{name}")
    runtime_stage(rng, lines, name, binary)
    return lines


def node_file(rng):
    lines = []
    header(rng, lines)
    nv = pick(rng, NODE_VERSIONS)
    lines.append("")
    if rng.random() < 0.5:
        lines.append(f"FROM --platform=$BUILDPLATFORM node:{nv}-alpine AS assets")
        lines.append("WORKDIR /app")
        lines.append("COPY package.json package-lock.json ./")
        lines.append("RUN --mount=type=cache,target=/root/.npm npm ci")
        lines.append("COPY . .")
        lines.append("RUN npm run build")
        lines.append("")
        lines.append("FROM nginx:1.25-alpine")
        lines.append("COPY nginx.conf /etc/nginx/conf.d/default.conf")
        lines.append("COPY --from=assets /app/dist /usr/share/nginx/html")
        lines.append("EXPOSE 80")
    else:
        lines.append(f"FROM node:{nv}-slim AS deps")
        lines.append("WORKDIR /app")
        lines.append("COPY package.json yarn.lock ./")
        lines.append("RUN yarn install --frozen-lockfile --production")
        lines.append("")
        lines.append(f"FROM node:{nv}-slim")
        lines.append("ENV NODE_ENV=production")
        lines.append("WORKDIR /app")
        lines.append("COPY --from=deps /app/node_modules ./node_modules")
        lines.append("COPY . .")
        lines.append("USER node")
        lines.append('CMD ["node", "server.js"]')
    return lines


def python_file(rng):
    lines = []
    header(rng, lines)
    pv = pick(rng, PY_VERSIONS)
    lines.append("")
    lines.append(f"FROM python:{pv}-slim AS build")
    lines.append("ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1")
    lines.append("RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev \\")
    lines.append(" && rm -rf /var/lib/apt/lists/*")
    lines.append("WORKDIR /app")
    lines.append("COPY requirements.txt .")
    lines.append("RUN pip wheel --wheel-dir /wheels -r requirements.txt")
    lines.append("")
    lines.append(f"FROM python:{pv}-slim")
    lines.append("RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*")
    lines.append("COPY --from=build /wheels /wheels")
    lines.append("RUN pip install --no-index --find-links=/wheels /wheels/*.whl && rm -rf /wheels")
    lines.append("WORKDIR /app")
    lines.append("COPY . .")
    lines.append('CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]')
    return lines


def java_file(rng):
    lines = []
    header(rng, lines)
    lines.append("")
    plat = "--platform=$BUILDPLATFORM " if rng.random() < 0.5 else ""
    lines.append(f"FROM {plat}maven:3.9-eclipse-temurin-21 AS build")
    lines.append("WORKDIR /build")
    lines.append("COPY pom.xml .")
    lines.append("RUN --mount=type=cache,target=/root/.m2 mvn -B dependency:go-offline")
    lines.append("COPY src ./src")
    lines.append("RUN --mount=type=cache,target=/root/.m2 mvn -B package -DskipTests")
    lines.append("")
    lines.append("FROM eclipse-temurin:21-jre")
    lines.append("COPY --from=build /build/target/*.jar /app/app.jar")
    lines.append('ENTRYPOINT ["java", "-jar", "/app/app.jar"]')
    return lines


def platform_file(rng):
    """Downloads per-arch release binaries; the ARG traps and --platform flags."""
    lines = []
    header(rng, lines)
    lines.append("ARG KUBECTL_VERSION=v1.29.2")
    lines.append("")
    lines.append(f"FROM --platform=$BUILDPLATFORM alpine:{pick(rng, ALPINES)} AS fetch")
    if rng.random() < 0.7:
        lines.append("ARG TARGETOS TARGETARCH")
    lines.append("ARG KUBECTL_VERSION")
    lines.append("RUN apk add --no-cache curl \\")
    lines.append(" && curl -fsSLo /kubectl https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/${TARGETOS}/${TARGETARCH}/kubectl \\")
    lines.append(" && chmod +x /kubectl")
    lines.append("")
    if rng.random() < 0.2:
        lines.append("FROM --platform=linux/amd64 debian:bookworm-slim")
    else:
        lines.append("FROM debian:bookworm-slim")
    lines.append("RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \\")
    lines.append(" && rm -rf /var/lib/apt/lists/*")
    lines.append("COPY --from=fetch /kubectl /usr/local/bin/kubectl")
    lines.append('ENTRYPOINT ["kubectl"]')
    return lines


KINDS = [
    ("go", go_file, 30),
    ("rust", rust_file, 15),
    ("c", c_file, 15),
    ("node", node_file, 15),
    ("python", python_file, 10),
    ("java", java_file, 5),
    ("platform", platform_file, 10),
]


def big_file(rng, stages):
    """One file with `stages` stages of about 10 lines each: a monorepo image."""
    lines = ["# syntax=docker/dockerfile:1", "# Monorepo: every service built in one file.", "ARG GO_VERSION=1.22", ""]
    makers = []
    for i in range(stages - 1):
        name = f"{pick(rng, NAMES)}{i}"
        makers.append(name)
        kind = i % 4
        if kind == 0:
            lines += [
                f"FROM --platform=$BUILDPLATFORM golang:${{GO_VERSION}} AS {name}",
                "ARG TARGETOS TARGETARCH",
                "WORKDIR /src",
                "COPY go.mod go.sum ./",
                "RUN --mount=type=cache,target=/go/pkg/mod go mod download",
                f"COPY services/{name}/ ./services/{name}/",
                "RUN --mount=type=cache,target=/root/.cache/go-build \\",
                f"    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/{name} ./services/{name}",
                f'LABEL service="{name}"',
                "",
            ]
        elif kind == 1:
            lines += [
                f"FROM golang:${{GO_VERSION}} AS {name}",
                "WORKDIR /src",
                "COPY go.mod go.sum ./",
                "RUN go mod download",
                f"COPY services/{name}/ ./services/{name}/",
                f"RUN go build -o /out/{name} ./services/{name}",
                f"RUN go test ./services/{name}/...",
                f'LABEL service="{name}"',
                "ENV GOFLAGS=-mod=readonly",
                "",
            ]
        elif kind == 2:
            lines += [
                f"FROM --platform=$BUILDPLATFORM rust:1.80 AS {name}",
                "ARG TARGETARCH",
                "RUN rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu",
                "WORKDIR /src",
                f"COPY crates/{name}/ ./",
                'RUN case "$TARGETARCH" in amd64) t=x86_64-unknown-linux-gnu ;; arm64) t=aarch64-unknown-linux-gnu ;; esac \\',
                f'    && cargo build --release --target "$t" && mkdir -p /out && cp "target/$t/release/{name}" /out/',
                f'LABEL service="{name}"',
                "ENV RUST_BACKTRACE=1",
                "",
            ]
        else:
            lines += [
                f"FROM debian:bookworm AS {name}",
                "RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake",
                "WORKDIR /src",
                f"COPY native/{name}/ ./",
                "RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \\",
                "    && cmake --build build -j$(nproc) \\",
                f"    && mkdir -p /out && cp build/{name} /out/",
                f'LABEL service="{name}"',
                "ENV LANG=C.UTF-8",
                "",
            ]
    lines.append("FROM debian:bookworm-slim AS final")
    lines.append("RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*")
    for name in makers:
        lines.append(f"COPY --from={name} /out/{name} /usr/local/bin/{name}")
    lines.append('ENTRYPOINT ["/usr/local/bin/' + makers[0] + '"]')
    return lines


def rename_stages(lines, suffix):
    """Appends `-suffix` to every stage name (and its uses) so two files can be joined."""
    names = {m.group(1) for l in lines for m in [re.search(r" AS (\S+)$", l)] if m}
    out = []
    for l in lines:
        for n in names:
            l = re.sub(rf"( AS |--from=|^FROM ){re.escape(n)}\b", rf"\g<1>{n}-{suffix}", l)
        out.append(l)
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20240307)
    weights = [w for _, _, w in KINDS]
    written = 0
    # The large ones first: one with 50 stages (about 500 lines), then 15 to 40 stages.
    big = [50, 15, 20, 25, 30, 40]
    for i, stages in enumerate(big[: max(0, count)]):
        lines = big_file(rng, stages)
        with open(os.path.join(out, f"gen-{i:04d}-monorepo-{stages}-stages.Dockerfile"), "w") as f:
            f.write("\n".join(lines) + "\n")
        written += 1
    for i in range(written, count):
        kind, make, _ = rng.choices(KINDS, weights=weights)[0]
        lines = make(rng)
        # Some files are concatenations of two services (a few are longer still).
        if rng.random() < 0.15:
            extra = rng.choices(KINDS, weights=weights)[0][1](rng)
            lines = lines + [""] + rename_stages([l for l in extra if not l.startswith("# syntax")], "2")
        with open(os.path.join(out, f"gen-{i:04d}-{kind}.Dockerfile"), "w") as f:
            f.write("\n".join(lines) + "\n")
        written += 1
    print(f"{written} files in {out}")


if __name__ == "__main__":
    main()
