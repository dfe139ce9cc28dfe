#!/usr/bin/env bash
# Builds Reseal (release) after installing its dependencies, then runs it with the
# given arguments. With no arguments it shows the help.
#
# Everything this script prints itself (set-up and build progress) goes to stderr:
# stdout belongs to reseal, since `scripts/run.sh process ... < in.eml > out.eml`
# writes the message there.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/setup.sh" >&2
bin="$here/target/release/reseal"
if [ ! -x "$bin" ]; then
    echo "run.sh: building reseal (the first build takes about 9 minutes on 2 cores)..." >&2
fi
# cargo prints its progress (Compiling ..., Finished ...) on stderr; when the build is
# up to date it prints just the "Finished" line.
cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2
exec "$bin" "$@"
