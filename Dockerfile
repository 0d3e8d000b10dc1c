# notcreepy: multi-stage build. The runtime image holds only the compiled code, production
# dependencies and libpcap, and runs as an unprivileged user whose only capability is NET_RAW.
#
#   docker build -t notcreepy .
#   docker run -d --name notcreepy --restart unless-stopped --net=host --cap-add NET_RAW \
#     -v notcreepy-data:/var/lib/notcreepy notcreepy watch --interface br-lan
#
# The dashboard's setup token is in `docker logs notcreepy`.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 cap
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm run build:native && npm prune --omit=dev

FROM node:20-bookworm-slim
# libcap2-bin: setcap, so the unprivileged user gets CAP_NET_RAW from this image's node binary
# (Docker grants capabilities to root only); the binary serves this daemon and nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin \
 && setcap cap_net_raw+ep /usr/local/bin/node \
 && apt-get purge -y libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/notcreepy --create-home --shell /usr/sbin/nologin notcreepy
WORKDIR /opt/notcreepy
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/src/capture/native/build/Release/pcap_batch.node ./dist/capture/native/build/Release/
COPY package.json ./
COPY dashboard ./dashboard
COPY captures ./captures
ENV STATE_DIRECTORY=/var/lib/notcreepy NODE_ENV=production
USER notcreepy
VOLUME ["/var/lib/notcreepy"]
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/opt/notcreepy/dist/cli/main.js", "health"]
ENTRYPOINT ["node", "/opt/notcreepy/dist/cli/main.js"]
CMD ["watch", "--interface", "eth0"]
