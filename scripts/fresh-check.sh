#!/usr/bin/env bash
# For maintainers: proves that README's two commands work on a fresh, minimal Debian 12
# that has only Rust. It bootstraps `debootstrap --variant=minbase bookworm` into a
# folder, mounts /proc, /sys, /dev, /dev/pts and /dev/shm there (Postfix and gpg-agent
# need them), bind-mounts the host's Rust toolchain read-only ($CARGO_HOME and
# $RUSTUP_HOME; inside, CARGO_HOME is a fresh writable /root/.cargo, so crates are
# downloaded as a newcomer's would be), clones the repository to /root/reseal, and runs
# as root inside:
#
#   1. scripts/run.sh --help   (installs the packages, builds; its stdout must be only
#                               reseal's help: progress belongs on stderr)
#   2. scripts/run.sh serve    in the background, until 127.0.0.1:10025 answers with an
#                               SMTP 220 greeting; then it is stopped
#   3. scripts/test.sh         (the whole suite and the secrets scan)
#
# then prints a PASS/FAIL summary with the time of each step, the failed test targets,
# and any log line that looks like a set-up problem (a missing program, package or
# service). It exits non-zero when anything failed. Run it as root on a Debian or Ubuntu
# host (it installs debootstrap with apt when missing); it needs about 10 GB in --dir
# and, on 2 cores, about 25 minutes: debootstrap 2 min, package set-up 1 min, release
# build 9 min, scripts/test.sh 12 min (its debug build 10, the tests 2).
#
# Usage: scripts/fresh-check.sh [OPTIONS]
#   --dir DIR       where the chroot (DIR/root) and the logs (DIR/logs) are kept
#                   (default /var/tmp/reseal-fresh)
#   --worktree      copy the uncommitted work tree (modified and untracked files that
#                   git does not ignore; deleted files are deleted) over the clone of
#                   HEAD; without it only the committed HEAD is checked
#   --reuse         keep the chroot already in DIR (its packages, crate downloads and
#                   build) instead of bootstrapping a new one; the source is cloned
#                   again either way, but target/ is kept. For re-running a step after
#                   fixing scripts/setup.sh; not a fresh check
#   --steps LIST    comma-separated steps among run,serve,test (default: all three)
#   --shell         set up (or reuse) the chroot and open a shell in it, with the same
#                   mounts and environment, instead of running the steps
#   --mirror URL    Debian mirror (default: the one this host's apt uses, read from
#                   /etc/apt/sources.list and /etc/apt/sources.list.d/)
#   --test-timeout SECONDS  stop scripts/test.sh after this long (default 5400)
#   -h, --help      this text
#
# Notes: the chroot shares the host's network (tests listen on 127.0.0.1 ports picked at
# run time; step 2 needs port 10025 free on the host). /etc/resolv.conf is copied in
# so that apt and cargo can resolve names. A policy-rc.d in the chroot keeps package
# scripts from starting daemons there (c-icap, postfix): the tests start their own
# private instances. On exit (also on Ctrl-C) every process left running in the chroot
# is killed and every mount is undone.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir=/var/tmp/reseal-fresh
worktree=0
reuse=0
shell=0
steps="run,serve,test"
mirror=""
test_timeout=5400
host_cargo="${CARGO_HOME:-$HOME/.cargo}"
host_rustup="${RUSTUP_HOME:-$HOME/.rustup}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --worktree) worktree=1; shift ;;
    --reuse) reuse=1; shift ;;
    --steps) steps="$2"; shift 2 ;;
    --shell) shell=1; reuse=1; shift ;;
    --mirror) mirror="$2"; shift 2 ;;
    --test-timeout) test_timeout="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "fresh-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-check: must run as root (debootstrap, chroot, mount)" >&2
    exit 2
fi
for d in "$host_cargo/bin" "$host_rustup/toolchains"; do
    [ -d "$d" ] || { echo "fresh-check: no Rust toolchain at $d" >&2; exit 2; }
done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
root="$dir/root"
logs="$dir/logs"
mkdir -p "$logs"
# One run at a time per folder.
exec 9>"$dir/.lock"
if ! flock -n 9; then
    echo "fresh-check: another fresh-check is using $dir" >&2
    exit 1
fi
# The step logs of an earlier run would be read as this run's.
rm -f "$logs"/{run,serve,test}.log "$logs"/run-help.stdout "$logs"/summary.txt

log() { printf 'fresh-check: %s\n' "$*" >&2; }

# --- mounts and clean-up ----------------------------------------------------------------

mounted=()   # mount points, in the order mounted

# Whether anything is mounted at or below $root (from an earlier, killed run).
mounts_below_root() {
    awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo
}

mount_one() { # mount_one TARGET MOUNT-ARGS...
    local target="$1"
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounted+=("$target")
}

bind_ro() { # bind_ro SOURCE TARGET
    mount_one "$2" --bind "$1"
    mount -o remount,bind,ro "$2"
}

# The processes whose root directory is the chroot (the only ones this script starts
# there), by pid.
chroot_pids() {
    local p link
    for p in /proc/[0-9]*; do
        link="$(readlink "$p/root" 2>/dev/null)" || continue
        if [ "$link" = "$root" ]; then echo "${p#/proc/}"; fi
    done
}

kill_chroot_processes() {
    local pids i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        mapfile -t pids < <(chroot_pids)
        [ ${#pids[@]} -gt 0 ] || return 0
        if [ "$i" -eq 1 ]; then
            log "stopping ${#pids[@]} process(es) left in the chroot: ${pids[*]}"
            kill -TERM "${pids[@]}" 2>/dev/null || true
        elif [ "$i" -ge 6 ]; then
            kill -KILL "${pids[@]}" 2>/dev/null || true
        fi
        sleep 1
    done
}

cleanup() {
    local i
    kill_chroot_processes
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
    done
    mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_all() {
    mount_one "$root/proc" -t proc proc
    mount_one "$root/sys" -t sysfs -o ro sysfs
    # /dev is the host's (device nodes), as a slave so that nothing mounted below it
    # here reaches the host; /dev/pts the host's; /dev/shm a tmpfs of its own.
    mount_one "$root/dev" --bind /dev
    mount --make-slave "$root/dev"
    mount_one "$root/dev/pts" --bind /dev/pts
    mount_one "$root/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
    bind_ro "$host_cargo" "$root/opt/rust/cargo"
    bind_ro "$host_rustup" "$root/opt/rust/rustup"
}

# --- the chroot ---------------------------------------------------------------------------

# The Debian mirror and security mirror this host's apt uses.
host_mirrors() {
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    awk '
        function emit(uri, suites,   n, s, i) {
            n = split(suites, s, /[ \t]+/)
            for (i = 1; i <= n; i++) {
                if (s[i] == "bookworm" && main == "") main = uri
                if (s[i] == "bookworm-security" && sec == "") sec = uri
            }
        }
        # one-line format: deb [options] URI SUITE COMPONENTS...
        /^[ \t]*deb[ \t]/ {
            line = $0
            sub(/\[[^]]*\]/, "", line)
            split(line, f, /[ \t]+/)
            i = (f[1] == "") ? 2 : 1
            emit(f[i + 1], f[i + 2])
            next
        }
        # deb822 format
        /^Types:/ { types = $0 }
        /^URIs:/ { uris = $2 }
        /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
        /^[ \t]*$/ { if (types ~ /deb( |$)/) emit(uris, suites); types = uris = suites = "" }
        END {
            if (types ~ /deb( |$)/) emit(uris, suites)
            print main; print sec
        }' "${files[@]}"
}

bootstrap() {
    local left
    left="$(mounts_below_root)"
    if [ -n "$left" ]; then
        log "refusing to remove $root: still mounted there: $left"
        exit 1
    fi
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    fi
    rm -rf --one-file-system "$root" "$dir/.bootstrapped"
    log "debootstrap --variant=minbase bookworm from $mirror (log: $logs/debootstrap.log)"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 || {
        tail -20 "$logs/debootstrap.log" >&2
        return 1
    }
    # What a Debian 12 install has: the release, its updates and security updates.
    {
        echo "deb $mirror bookworm main"
        echo "deb $mirror bookworm-updates main"
        echo "deb $security bookworm-security main"
    } >"$root/etc/apt/sources.list"
    [ -s "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
    # Package scripts must not start daemons in the chroot (they would outlive the run).
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    touch "$dir/.bootstrapped"
}

# The repository at /root/reseal: a clone of HEAD, plus the work tree with --worktree.
copy_source() {
    local dest="$root/root/reseal" keep="$root/root/.reseal-target"
    if [ -d "$dest/target" ]; then mv "$dest/target" "$keep"; fi
    rm -rf --one-file-system "$dest"
    git clone --quiet --no-hardlinks "$repo" "$dest"
    if [ "$worktree" = 1 ]; then
        # Tracked files as in the work tree (deleted ones deleted), untracked ones added.
        (cd "$dest" && git ls-files -z | xargs -0 rm -f)
        (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do
                if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
            done |
            tar --null -T - -cf -) | tar -xf - -C "$dest"
    fi
    if [ -d "$keep" ]; then mv "$keep" "$dest/target"; fi
    log "source: $(git -C "$repo" rev-parse --short HEAD)$([ "$worktree" = 1 ] && echo ' + work tree') at /root/reseal"
}

# CA certificates that this host trusts beyond Debian's own set (for instance a
# TLS-intercepting proxy's, without which cargo cannot reach crates.io here) go to the
# chroot's /usr/local/share/ca-certificates, which the ca-certificates package (that
# scripts/setup.sh installs) adds to the system bundle. A newcomer's machine has its
# own network's CAs already; this only gives the chroot the same network access.
copy_host_cas() {
    local bundle=/etc/ssl/certs/ca-certificates.crt dest="$root/usr/local/share/ca-certificates"
    [ -f "$bundle" ] && [ -d /usr/share/ca-certificates ] || return 0
    mkdir -p "$dest"
    rm -f "$dest"/fresh-check-host-*.crt
    local known=() f
    for f in /usr/share/ca-certificates/*/*.crt; do [ -f "$f" ] && known+=("$f"); done
    [ ${#known[@]} -gt 0 ] || return 0
    awk -v bundle="$bundle" -v out="$dest/fresh-check-host-" '
            FNR == 1 { in_bundle = (FILENAME == bundle) }
            /-----BEGIN CERTIFICATE-----/ { body = ""; pem = $0 "\n"; inside = 1; next }
            inside && /-----END CERTIFICATE-----/ {
                pem = pem $0 "\n"; inside = 0
                if (!in_bundle) known[body] = 1
                else if (!(body in known)) { n++; printf "%s", pem > (out n ".crt") }
                next
            }
            inside { body = body $0; pem = pem $0 "\n" }
            END { print n + 0 }' "${known[@]}" "$bundle" >"$logs/host-cas.count" || true
    local n
    n="$(cat "$logs/host-cas.count" 2>/dev/null || echo 0)"
    if [ "${n:-0}" -gt 0 ]; then
        log "copied $n CA certificate(s) that this host trusts beyond Debian's set"
        if [ -x "$root/usr/sbin/update-ca-certificates" ]; then
            in_chroot update-ca-certificates >/dev/null 2>&1 || true
        fi
    fi
}

# Runs a command in the chroot with a clean environment, as a newcomer's root shell.
in_chroot() {
    chroot "$root" /usr/bin/env -i \
        HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM="${TERM:-dumb}" LANG=C.UTF-8 \
        PATH=/root/.cargo/bin:/opt/rust/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        CARGO_HOME=/root/.cargo RUSTUP_HOME=/opt/rust/rustup \
        "$@"
}

# Prefixes each line with the seconds since the step started.
stamp() {
    local t0 now line
    t0="$(date +%s)"
    while IFS= read -r line; do
        printf -v now '%(%s)T' -1
        printf '[%4ds] %s\n' "$((now - t0))" "$line"
    done
}

# --- steps ------------------------------------------------------------------------------

declare -A result seconds note
order=()

record() { # record STEP PASS|FAIL START-EPOCH NOTE
    order+=("$1")
    result[$1]="$2"
    seconds[$1]="$(($(date +%s) - $3))"
    note[$1]="$4"
}

step_run() {
    local t0 status=0 n=""
    t0="$(date +%s)"
    log "step run: scripts/run.sh --help (log: $logs/run.log)"
    in_chroot /bin/bash -c 'cd /root/reseal && scripts/run.sh --help >/root/run-help.stdout' 2>&1 |
        stamp | tee "$logs/run.log" >&2 || status=$?
    cp "$root/root/run-help.stdout" "$logs/run-help.stdout" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        n="scripts/run.sh --help exited $status"
    elif ! grep -qi usage "$logs/run-help.stdout"; then
        status=1
        n="stdout holds no help text"
    elif grep -qE '^(setup:|run\.sh:)|Compiling |Finished ' "$logs/run-help.stdout"; then
        status=1
        n="progress leaked onto stdout"
    fi
    local setup_s build_s
    setup_s="$(grep -m1 -E 'Updating crates.io|Downloading|Compiling ' "$logs/run.log" | sed -E 's/^\[ *([0-9]+)s\].*/\1/')" || true
    build_s="$(grep -m1 'Finished ' "$logs/run.log" | sed -E 's/^\[ *([0-9]+)s\].*/\1/')" || true
    if [ -n "$setup_s" ] && [ -n "$build_s" ]; then
        n="${n:+$n; }set-up ${setup_s}s, build $((build_s - setup_s))s"
    fi
    record "run.sh --help" "$([ "$status" -eq 0 ] && echo PASS || echo FAIL)" "$t0" "$n"
}

step_serve() {
    local t0 status=0 n
    t0="$(date +%s)"
    log "step serve: scripts/run.sh serve on 127.0.0.1:10025 (log: $logs/serve.log)"
    if (exec 3<>/dev/tcp/127.0.0.1/10025) 2>/dev/null; then
        record "run.sh serve" FAIL "$t0" "port 127.0.0.1:10025 is already in use on this host"
        return
    fi
    # Started in the background as a user would; stopped with SIGTERM once it greeted.
    cat >"$root/root/fresh-serve.sh" <<'SERVE'
#!/bin/bash
set -u
cd /root/reseal
scripts/run.sh serve >/root/serve.out 2>&1 &
pid=$!
greet() {
    exec 3<>/dev/tcp/127.0.0.1/10025 || return 1
    IFS= read -r -t 10 line <&3 || return 1
    printf 'QUIT\r\n' >&3
    printf '%s' "${line%$'\r'}"
}
greeting=""
for _ in $(seq 1 900); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "serve exited before it answered:"
        cat /root/serve.out
        exit 1
    fi
    if greeting="$(greet 2>/dev/null)"; then break; fi
    sleep 1
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
echo "serve exited with $? after SIGTERM; its output:"
cat /root/serve.out
echo "--- greeting: $greeting"
case "$greeting" in 220*) exit 0 ;; *) exit 1 ;; esac
SERVE
    in_chroot /bin/bash /root/fresh-serve.sh >"$logs/serve.log" 2>&1 || status=$?
    n="$(sed -n 's/^--- greeting: //p' "$logs/serve.log")"
    [ -n "$n" ] || n="no greeting; see $logs/serve.log"
    record "run.sh serve" "$([ "$status" -eq 0 ] && echo PASS || echo FAIL)" "$t0" "$n"
}

step_test() {
    local t0 status=0 n failed
    t0="$(date +%s)"
    log "step test: scripts/test.sh (log: $logs/test.log)"
    in_chroot timeout -k 30 "$test_timeout" /bin/bash -c 'cd /root/reseal && scripts/test.sh' 2>&1 |
        stamp | tee "$logs/test.log" >&2 || status=$?
    # cargo's own list of the failed targets ("error: N targets failed:" and then one
    # `--test NAME` a line).
    # shellcheck disable=SC2016 # the backquotes are cargo's
    failed="$(sed -n 's/^\[ *[0-9]*s\]     `\(.*\)`$/\1/p' "$logs/test.log" | paste -sd, -)"
    n="${failed:+failed targets: $failed}"
    [ "$status" -ne 124 ] || n="timed out after ${test_timeout}s; $n"
    record "test.sh" "$([ "$status" -eq 0 ] && echo PASS || echo FAIL)" "$t0" "$n"
}

# Lines of the logs that point at the machine rather than the code.
setup_problems() {
    grep -nE 'command not found|is not installed|No such file or directory \(os error 2\)|cannot find -l|Unable to find libclang|Could not find openssl|pkg-config.*not found|fatal: |Bad protocol|E: (Unable|Package|Could)|permission denied|Read-only file system' \
        "$logs"/run.log "$logs"/serve.log "$logs"/test.log 2>/dev/null | sed "s|^$logs/||" |
        grep -v 'apt-utils is not installed' | sort -u | head -40 || true
}

summary() {
    local s overall=PASS
    echo
    echo "==================== fresh-check summary ===================="
    echo "chroot: $root   logs: $logs"
    for s in "${order[@]}"; do
        printf '%-16s %-4s %6ss  %s\n' "$s" "${result[$s]}" "${seconds[$s]}" "${note[$s]}"
        [ "${result[$s]}" = PASS ] || overall=FAIL
    done
    if [ -f "$logs/test.log" ]; then
        local tests
        tests="$(grep -oE 'test [^ ]+ \.\.\. FAILED' "$logs/test.log" | sort -u | sed 's/^/    /')" || true
        [ -z "$tests" ] || { echo "failed tests:"; echo "$tests"; }
    fi
    local problems
    problems="$(setup_problems)"
    if [ -n "$problems" ]; then
        echo "log lines that may point at a set-up problem (check them):"
        printf '%s\n' "$problems" | sed 's/^/    /'
    fi
    echo "RESULT: $overall"
    echo "============================================================="
    [ "$overall" = PASS ]
}

# --- main -----------------------------------------------------------------------------------

if [ -z "$mirror" ] || [ -z "${security:-}" ]; then
    mapfile -t found < <(host_mirrors)
    [ -n "$mirror" ] || mirror="${found[0]:-}"
    security="${found[1]:-}"
fi
mirror="${mirror:-http://deb.debian.org/debian}"
security="${security:-http://deb.debian.org/debian-security}"

if [ "$reuse" = 1 ] && [ -f "$dir/.bootstrapped" ]; then
    log "reusing the chroot in $root"
else
    t0="$(date +%s)"
    if bootstrap; then
        record debootstrap PASS "$t0" "minbase bookworm from $mirror"
    else
        record debootstrap FAIL "$t0" "see $logs/debootstrap.log"
        summary
        exit 1
    fi
fi
left="$(mounts_below_root)"
if [ -n "$left" ]; then
    log "already mounted below $root (another fresh-check running?): $left"
    exit 1
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
copy_host_cas
copy_source
mount_all

if [ "$shell" = 1 ]; then
    log "shell in the chroot; exit it to unmount"
    in_chroot /bin/bash -c 'cd /root/reseal && exec bash -i' || true
    exit 0
fi

IFS=, read -r -a wanted <<<"$steps"
for s in "${wanted[@]}"; do
    case "$s" in
    run) step_run ;;
    serve) step_serve ;;
    test) step_test ;;
    *) log "unknown step $s"; exit 2 ;;
    esac
done
kill_chroot_processes
summary | tee "$logs/summary.txt"
