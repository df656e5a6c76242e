FROM alpine
CMD ["日本語", "émoji 🚀", "Ünïcödé"]
