cd "$1" || exit 0
export TZ="$2" LC_ALL=C
shift 2
err=$("$@" --help </dev/null 2>&1 >/dev/null)
echo "exit=$?"
printf '%s\n' "$err" | head -n 2
