from alpine
cmd ["a"]
entrypoint ["b", "c"]
