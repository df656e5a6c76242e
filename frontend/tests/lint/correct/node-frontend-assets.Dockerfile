# The web assets are architecture independent, so they are built once on the build
# platform; the target image is nginx serving them.
FROM --platform=$BUILDPLATFORM node:20-alpine AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
RUN npm run build

FROM nginx:1.25-alpine
COPY nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=assets /app/dist /usr/share/nginx/html
EXPOSE 80
