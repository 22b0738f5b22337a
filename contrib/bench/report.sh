#!/usr/bin/env bash
# `make bench`: every performance figure of the node in one table, headed by the CPU and
# L1 (OpenSSL's single-core SHA-256 compressions/s, the reference hashing figures are a
# ratio to) and V2 (libsecp256k1's BIP340 verifications/s with both cores verifying at
# once, the reference the validation figures are a ratio to). Runs the criterion
# benchmarks of the miner, block connection (also under a reader's held snapshot), the
# dashboard's address page and signature verification, the busy-chain
# sync (contrib/bench/sync.sh, chain cached after the first run) from one peer and from
# three SYNC_RUNS times each (default 3) with V2 measured between the runs, the RPC load (contrib/bench/rpc.sh) and an idle
# node's memory. Takes about ten minutes; the first run also generates the sync chain.
#
#   contrib/bench/report.sh        (run by `make bench` after `make build`)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug}
export BIN
OUT=$(mktemp -d)
# Kept when something fails, so the measurements already taken are not lost.
trap 'if [ $? -eq 0 ]; then rm -rf "$OUT"; else echo "== raw outputs kept in $OUT" >&2; fi' EXIT
log() { echo "== $*" >&2; }

CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
# Other work on the machine lowers every figure; the ratios to L1 and V2 less so.
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
log "L1"
L1=$(contrib/bench/l1.sh)

log "criterion: miner and block connection"
cargo bench --profile dev -p dotcoind --bench node -- \
    'miner/.*hashes_|miner/stop_latency|chain/connect_block' > "$OUT/criterion.txt" 2>&1 || {
    cat "$OUT/criterion.txt" >&2
    exit 1
}
L1_AFTER=$(contrib/bench/l1.sh)

log "criterion: reads (blocks connected under a held snapshot, the dashboard's address page)"
cargo bench --profile dev --workspace --bench reads >> "$OUT/criterion.txt" 2>&1 || {
    cat "$OUT/criterion.txt" >&2
    exit 1
}

log "criterion: secp256k1 BIP340 verification (the validation reference)"
cargo bench --profile dev -p dotcoin-common --features signing --bench consensus -- \
    'schnorr_verify' >> "$OUT/criterion.txt" 2>&1 || {
    cat "$OUT/criterion.txt" >&2
    exit 1
}

# This machine kind's speed drifts within minutes (V2 has read 40–60 µs a verification
# ten minutes apart), so each sync is set against the V2 measured just before and just
# after it, and the table gives the median of SYNC_RUNS such ratios.
SYNC_RUNS=${SYNC_RUNS:-3}
# Prints V2 (both cores verifying at once) and 2 x V1 (twice one core's rate).
v2_now() {
    cargo bench --profile dev -p dotcoin-common --features signing --bench consensus -- \
        --warm-up-time 1 --measurement-time 4 'schnorr_verify/bip340(_two_threads)?$' 2>&1 |
        python3 -c '
import re, sys
text = sys.stdin.read()
def rate(name):
    m = re.search(re.escape(name) + r"\s.*?thrpt:\s*\[\S+ \S+ (\S+) (K?)elem/s", text, re.S)
    if not m:
        sys.exit(f"no {name} result:\n" + text)
    return float(m.group(1)) * (1e3 if m.group(2) else 1)
print(rate("schnorr_verify/bip340_two_threads"), 2 * rate("schnorr_verify/bip340"))'
}
# Each run syncs from one peer, then from three (PEERS=3), with V2 measured before, between
# and after: v2_0, then v2_<2 run - 1> after the one-peer sync and v2_<2 run> after the
# three-peer one.
log "V2 before the first sync"
v2_now > "$OUT/v2_0"
for run in $(seq "$SYNC_RUNS"); do
    log "busy-chain sync $run of $SYNC_RUNS, one peer"
    contrib/bench/sync.sh > "$OUT/sync_$run.txt"
    log "V2 after it"
    v2_now > "$OUT/v2_$((2 * run - 1))"
    log "busy-chain sync $run of $SYNC_RUNS, three peers"
    PEERS=3 contrib/bench/sync.sh > "$OUT/sync3_$run.txt"
    log "V2 after it"
    v2_now > "$OUT/v2_$((2 * run))"
done

log "RPC"
# The table is still worth printing when the RPC load cannot be set up.
DURATION=${RPC_DURATION:-5s} contrib/bench/rpc.sh > "$OUT/rpc.txt" || log "rpc.sh failed: no RPC rows"

log "idle memory"
IDLE_DIR=$(mktemp -d)
"$BIN/dotcoind" --regtest --datadir "$IDLE_DIR" --rpcport 0 --port 0 2>/dev/null &
IDLE_PID=$!
for _ in $(seq 200); do [ -f "$IDLE_DIR/regtest/dotcoind.ports" ] && break; sleep 0.05; done
sleep 5
IDLE_RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$IDLE_PID/status")
kill "$IDLE_PID"
wait "$IDLE_PID" 2>/dev/null || true
rm -rf "$IDLE_DIR"

python3 - "$CPU" "$L1" "$L1_AFTER" "$OUT" "$IDLE_RSS" "$SYNC_RUNS" "$LOAD_BEFORE" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import re, sys, datetime
cpu, l1a, l1b, out, idle, sync_runs, load_before, load_after = sys.argv[1:]
l1 = (float(l1a) + float(l1b)) / 2
crit = open(f"{out}/criterion.txt").read()
UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
TIME = {"ps": 1e-12, "ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1}

def block(name):
    m = re.search(re.escape(name) + r"\s*\n?\s*time:\s*\[([^\]]*)\](?:\s*thrpt:\s*\[([^\]]*)\])?", crit)
    if not m:
        sys.exit(f"no criterion result for {name}")
    return m.group(1), m.group(2)

def rate(name):
    _, thrpt = block(name)
    value, unit = thrpt.split()[2:4]
    return float(value) * UNITS[unit.replace("elem/s", "")]

def median_time(name):
    t, _ = block(name)
    value, unit = t.split()[2:4]
    return float(value) * TIME[unit]

SYNC = re.compile(r"sync of (\d+) blocks, (\d+) signed inputs.*?([\d.]+) s, (\d+) inputs/s, (\d+) blocks/s; "
                  r"fresh node RSS ([\d.]+) MiB before, ([\d.]+) MiB after; CPU fresh node (\d+) %")
# Each line: V2 (both cores at once) and 2 x V1.
v2_around = [tuple(map(float, open(f"{out}/v2_{i}").read().split())) for i in range(2 * int(sync_runs) + 1)]

def sync_runs_of(name, first_v2):
    """The runs `name`_<run>.txt, each with its ratios to V2 and 2 x V1 around it (the
    references numbered first_v2(run) and the next), sorted by the ratio to V2."""
    runs = []
    for i in range(1, int(sync_runs) + 1):
        m = SYNC.search(open(f"{out}/{name}_{i}.txt").read())
        if m:
            # Against the mean of the references just before and just after this run.
            j = first_v2(i)
            around = [(a + b) / 2 for a, b in zip(v2_around[j], v2_around[j + 1])]
            runs.append((int(m.group(4)) / around[0], int(m.group(4)) / around[1], m, j))
    runs.sort(key=lambda r: r[0])
    return runs

syncs = sync_runs_of("sync", lambda i: 2 * i - 2)
syncs3 = sync_runs_of("sync3", lambda i: 2 * i - 1)
s = syncs[len(syncs) // 2][2] if syncs else None
rpc = {}
for line in open(f"{out}/rpc.txt"):
    m = re.match(r"(getblockcount|getblock \(.*?\))\s+(\d+) clients\s+([\d.]+) req/s", line)
    if m:
        rpc[(m.group(1).split()[0], int(m.group(2)))] = float(m.group(3))

rows = []
for t in (1, 2):
    h = rate(f"miner/hashes_{t}_threads")
    rows.append((f"hashes/s, {t} thread{'s' if t > 1 else ''}", f"{h/1e6:.1f} M", f"{h/l1:.2f} x L1"))
chosen = re.search(r"kernel chosen: (\S+) \((.*)\)", crit)
if chosen:
    rows.append(("miner kernel chosen at start-up", chosen.group(1), chosen.group(2)))
for kernel in ("portable", "sha_ni_1", "sha_ni_2", "sha_ni_4", "sha_ni_8"):
    name = "portable_hashes" if kernel == "portable" else f"{kernel}_hashes"
    if f"miner/{name}_1_threads" not in crit:
        continue
    one, two = rate(f"miner/{name}_1_threads"), rate(f"miner/{name}_2_threads")
    rows.append((f"hashes/s, kernel {kernel.replace('_', '-')}, 1 / 2 threads",
                 f"{one/1e6:.1f} M / {two/1e6:.1f} M", f"{one/l1:.2f} / {two/l1:.2f} x L1"))
rows.append(("cancel latency after a new tip", f"{median_time('miner/stop_latency_after_new_tip')*1e6:.0f} µs", ""))
# V2: BIP340 verifications/s of both cores verifying at once, the ceiling of any validation
# figure. Two cores together verify less than twice what one does alone (they share the
# host's core, caches and clock), so 2 x V1 is shown beside it.
v2 = rate("schnorr_verify/bip340_two_threads")
v1 = rate("schnorr_verify/bip340")
rows.append(("secp256k1 BIP340 verify, both cores at once (V2)", f"{v2:.0f} /s", "validation reference"))
rows.append(("secp256k1 BIP340 verify, one core (V1)", f"{v1:.0f} /s", f"V2 = {v2/v1:.2f} x V1"))
connect = rate('chain/connect_block_1000_signed_inputs')
rows.append(("block connect, 1 000 signed inputs", f"{connect:.0f} inputs/s", f"{connect/v2:.2f} x V2"))
pooled = rate('chain/connect_block_1000_pool_transactions')
rows.append(("block connect, the same block's transactions in the pool first", f"{pooled:.0f} inputs/s",
             f"{pooled/connect:.2f} x the row above (signatures cached at acceptance)"))
for runs, peers in ((syncs, "one peer"), (syncs3, "three peers")):
    if not runs:
        continue
    ratio, ratio_v1, m, _ = runs[len(runs) // 2]
    rows.append((f"sync, {int(m.group(1))} blocks / {int(m.group(2))} inputs from {peers}, "
                 f"median of {len(runs)} runs",
                 f"{int(m.group(4))} inputs/s",
                 f"{ratio:.2f} x V2 around it ({ratio_v1:.2f} x 2 V1); {int(m.group(5))} blocks/s; "
                 f"CPU {m.group(8)} %"))
    rows.append((f"sync runs from {peers}, each against the references before and after it",
                 ", ".join(f"{int(m.group(4))}" for _, _, m, _ in runs) + " inputs/s",
                 ", ".join(f"{r:.2f}" for r, _, _, _ in runs) + " x V2 (V2 "
                 + ", ".join(f"{(v2_around[j][0] + v2_around[j + 1][0]) / 2e3:.1f} k" for _, _, _, j in runs)
                 + "); " + ", ".join(f"{r:.2f}" for _, r, _, _ in runs) + " x 2 V1 (2 V1 "
                 + ", ".join(f"{(v2_around[j][1] + v2_around[j + 1][1]) / 2e3:.1f} k" for _, _, _, j in runs)
                 + ")"))
free = median_time('reads/connect_1000_blocks')
held = median_time('reads/connect_1000_blocks_snapshot_held')
rows.append(("1 000 blocks of 4 signed spends connected, a reader holding a snapshot throughout",
             f"{held:.2f} s", f"{held/free:.2f} x without one ({free:.2f} s)"))
for state in ("on_disk", "cached"):
    rows.append((f"dashboard address page, 5 000 coinbases, {state.replace('_', ' ')} (handler's work)",
                 f"{median_time(f'reads/address_page_5000_coinbases_{state}')*1e3:.2f} ms",
                 f"page 41: {median_time(f'reads/address_page_5000_coinbases_{state}_page_41')*1e3:.2f} ms"))
for (method, clients), v in sorted(rpc.items()):
    name = "getblockcount" if method == "getblockcount" else "getblock <1 000-tx block> 2"
    rows.append((f"RPC {name}, {clients} client{'s' if clients > 1 else ''}", f"{v:.0f} req/s", ""))
rows.append(("RSS, idle node", f"{int(idle)/1024:.1f} MiB", ""))
if s:
    rows.append(("RSS, after syncing the busy chain", f"{float(s.group(7)):.1f} MiB", ""))

print(f"dotcoin benchmarks, {datetime.date.today()}: {cpu}, 2 cores; "
      f"L1 = {l1/1e6:.1f} M SHA-256 compressions/s (OpenSSL, one core); "
      f"load average {load_before} before, {load_after} after")
print()
print("| figure | value | ratio / note |")
print("|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} |")
PY
