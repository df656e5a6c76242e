# Hugo is installed and run on the build platform; only the generated HTML (the same for
# every architecture) is copied into the nginx image.
FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS site
RUN apk add --no-cache git
RUN CGO_ENABLED=0 go install github.com/gohugoio/hugo@v0.123.7
WORKDIR /site
COPY . .
RUN hugo --minify --destination /public

FROM nginx:1.25-alpine
COPY --from=site /public /usr/share/nginx/html
EXPOSE 80
