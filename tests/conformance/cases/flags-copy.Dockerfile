FROM alpine AS build
FROM alpine
COPY --from=build --chown=app:app --chmod=0755 /out /usr/bin/
COPY --link --from=build /a /b
COPY --parents --exclude=*.md --exclude=*.txt ./src ./dst
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x.tar /x
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.12.5 /bk
