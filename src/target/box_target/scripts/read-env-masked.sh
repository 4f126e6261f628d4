cd "$1" || exit 2
[ -f .env ] || exit 0
sed -E "s/^((export )?($2))=.*/\1=<redacted>/" .env
