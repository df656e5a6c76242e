# A plain JavaScript service: dependencies are pure JS and installed without lifecycle
# scripts, so nothing is compiled for the target.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /usr/src/app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY src/ ./src/
USER node
EXPOSE 3000
CMD ["node", "src/server.js"]
