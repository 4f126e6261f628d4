cd "$1" || exit 2
[ -f .env ] || exit 0
grep -E "^(export )?($2)=" .env
exit 0
