cd "$1" || exit 2
rm -f "$2"
