# Sourced by the benchmark scripts: wait_quiet waits (up to QUIET_WAIT x 5 s) for the 1-minute load average to drop
# below QUIET_LOAD (default 0.7) and prints "load X", marked BUSY when it never did: on a shared 2-core machine a
# concurrent compile slows any engine by several times, so figures taken under load are flagged in the logs.
wait_quiet() {
    local load
    for _ in $(seq 1 "${QUIET_WAIT:-24}"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if awk -v l="$load" -v m="${QUIET_LOAD:-0.7}" 'BEGIN { exit !(l < m) }'; then
            echo "load $load"
            return 0
        fi
        sleep 5
    done
    echo "load $(cut -d' ' -f1 /proc/loadavg) (BUSY: still above ${QUIET_LOAD:-0.7} after waiting)"
}
