cd "$1" || exit 2
[ -f .env ] && echo "env_tz=$(sed -n -E 's/^(export )?DASHBOARD_TZ=//p' .env | tail -n 1)"
tz=${TZ:-}
if [ -z "$tz" ] && command -v timedatectl >/dev/null 2>&1; then tz=$(timedatectl show -p Timezone --value 2>/dev/null); fi
if [ -z "$tz" ] && [ -r /etc/timezone ]; then tz=$(head -n 1 /etc/timezone 2>/dev/null); fi
if [ -z "$tz" ] && [ -L /etc/localtime ]; then
  l=$(readlink /etc/localtime 2>/dev/null)
  case $l in */zoneinfo/*) tz=${l##*/zoneinfo/} ;; esac
fi
echo "host_tz=$tz"
exit 0
