cd "$1" || exit 2
kept=$2
if [ -e "$kept" ]; then echo "canary: $kept exists: an earlier run emptied PROXY_AUTH_TOKEN and did not put it back; put it back first (mv $kept .env)" >&2; exit 3; fi
grep -qE '^(export )?PROXY_AUTH_TOKEN=' .env || { echo "canary: .env has no PROXY_AUTH_TOKEN line" >&2; exit 4; }
umask 077
{ cp -p .env "$kept.tmp" && chmod 600 "$kept.tmp" && mv -f "$kept.tmp" "$kept"; } || { rm -f "$kept.tmp"; exit 2; }
{ cp -p .env .env.canary-tmp && sed -E 's/^((export )?PROXY_AUTH_TOKEN)=.*/\1=/' "$kept" > .env.canary-tmp && mv -f .env.canary-tmp .env; } || { rm -f .env.canary-tmp; exit 2; }
echo "PROXY_AUTH_TOKEN emptied in .env (the original kept on the box as $kept)"
