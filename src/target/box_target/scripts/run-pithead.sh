cd "$1" || { echo "canary: no such stack directory: $1" >&2; exit 2; }
export TZ="$2" LC_ALL=C
shift 2
exec "$@" </dev/null
