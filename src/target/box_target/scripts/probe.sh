if ! cd "$1" 2>/dev/null; then echo "dir=missing"; exit 0; fi
echo "dir=ok"
if [ -x "$2" ] || command -v "$2" >/dev/null 2>&1; then echo "pithead=ok"; else echo "pithead=missing"; fi
[ -f config.json ] && echo "config=ok" || echo "config=missing"
[ -f .env ] && echo "env=ok" || echo "env=missing"
[ -f .env.canary-orig ] && echo "env_copy=ok"
if command -v curl >/dev/null 2>&1; then echo "fetch=curl"; elif command -v python3 >/dev/null 2>&1; then echo "fetch=python3"; else echo "fetch=none"; fi
if command -v sha256sum >/dev/null 2>&1; then echo "sha=ok"; elif command -v python3 >/dev/null 2>&1; then echo "sha=python3"; else echo "sha=none"; fi
if docker compose version >/dev/null 2>&1; then echo "compose=v2"; echo "compose_version=v2 $(docker compose version --short 2>/dev/null)"; elif command -v docker-compose >/dev/null 2>&1; then echo "compose=v1"; echo "compose_version=v1 $(docker-compose version --short 2>/dev/null)"; else echo "compose=none"; fi
rev=$(git -C . rev-parse --short HEAD 2>/dev/null) && echo "pithead_rev=git $rev"
if command -v docker >/dev/null 2>&1 && { [ -f docker-compose.yml ] || [ -f compose.yaml ] || [ -f docker-compose.yaml ] || [ -f compose.yml ]; }; then echo "containers=docker"; else echo "containers=pithead"; fi
echo "uname=$(uname -srm 2>/dev/null)"
echo "realdir=$(pwd -P)"
echo "hostname=$(uname -n 2>/dev/null)"
