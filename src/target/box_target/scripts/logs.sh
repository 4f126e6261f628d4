cd "$1" || exit 2
mode=$2; export TZ="$3" LC_ALL=C; shift 3
if [ "$mode" = docker ]; then
  if docker compose version >/dev/null 2>&1; then docker compose logs --no-color --tail 200 2>&1; else docker-compose logs --no-color --tail 200 2>&1; fi
else
  "$@" logs --tail 200 </dev/null 2>&1
fi
exit 0
