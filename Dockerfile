# notcreepy: multi-stage build. The runtime image holds only the compiled code, production
# dependencies and libpcap, and runs as an unprivileged user.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 cap
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/notcreepy --create-home notcreepy
WORKDIR /opt/notcreepy
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY dashboard ./dashboard
COPY captures ./captures
USER notcreepy
VOLUME ["/var/lib/notcreepy"]
ENTRYPOINT ["node", "/opt/notcreepy/dist/cli/main.js"]
CMD ["analyze", "/opt/notcreepy/captures/lan-basic.pcap"]
