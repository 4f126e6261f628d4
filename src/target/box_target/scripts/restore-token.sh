cd "$1" || exit 2
kept=$2
[ -f "$kept" ] || { echo "canary: no $kept to put back" >&2; exit 3; }
{ cp -p .env .env.canary-tmp 2>/dev/null || cp -p "$kept" .env.canary-tmp; } || exit 2
{ cat "$kept" > .env.canary-tmp && mv -f .env.canary-tmp .env && rm -f "$kept"; } || { rm -f .env.canary-tmp; exit 2; }
echo "PROXY_AUTH_TOKEN put back in .env"
