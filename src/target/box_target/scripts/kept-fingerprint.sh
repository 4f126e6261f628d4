cd "$1" || exit 2
[ -f "$3" ] || exit 0
if command -v sha256sum >/dev/null 2>&1; then grep -E "^($2)=" "$3" | LC_ALL=C sort | sha256sum | cut -d' ' -f1
else grep -E "^($2)=" "$3" | LC_ALL=C sort | python3 -c 'import sys,hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'; fi
