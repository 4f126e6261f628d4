cd "$1" || exit 2
[ -f .env ] || { echo "canary: there is no .env to keep a copy of" >&2; exit 3; }
umask 077
{ cp .env "$2.tmp" && chmod 600 "$2.tmp" && mv -f "$2.tmp" "$2"; } || { rm -f "$2.tmp"; exit 2; }
