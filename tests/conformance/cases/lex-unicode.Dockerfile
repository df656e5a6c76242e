FROM alpine
LABEL description="日本語のラベル 🚀" author="Zoë Ünïcödé"
ENV GRÜSSE=héllo
RUN echo "ça marche" && echo 'κόσμε'
WORKDIR /données
