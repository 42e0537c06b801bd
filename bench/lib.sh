# Helpers shared by the benchmark scripts (sourced, not run).

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
as_pg() { runuser -u postgres -- "$@"; }
now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
du_bytes() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }

# A TCP port nobody listens on, for a throwaway server; die() is the calling script's.
free_port() {
    local p i
    for i in $(seq 200); do
        p=$((20000 + RANDOM % 30000))
        [[ -z $(ss -Hltn "sport = :$p") ]] && { echo "$p"; return; }
    done
    die "no free port found"
}
