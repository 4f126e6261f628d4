cd "$1" || { echo "the stack directory"; exit 0; }
for f in config.json .env; do [ -f "$f" ] || echo "$f"; done
