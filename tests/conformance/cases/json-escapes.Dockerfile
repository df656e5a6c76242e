FROM alpine
CMD ["caf\u00e9", "\"quoted\"", "back\\slash", "tab\there", "new\nline", "sl\/ash", "\ud83d\ude80", "\u00E9"]
