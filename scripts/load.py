#!/usr/bin/env python3
"""Live-call load: N confirmation calls held at once against a SIPp callee.

Run through `scripts/load` (it builds the release binary first). Prints
orderline's CPU beside SIPp's own, measured over the same window, so the
figure is a ratio on this machine, never bare seconds (issue #16):

  * calls per core: live calls / orderline's share of one core;
  * orderline CPU / SIPp CPU (SIPp streams and receives the same RTP);
  * RTP send-interval deviation from 20 ms, p50/p99, at SIPp's socket
    (tcpdump on lo: what a carrier would see);
  * memory per call: orderline's RSS growth / live calls;
  * failed calls: any attempt that did not end as `no_input` (the callee
    never presses a key, so every call hears the whole script and times out).

Each call is a real confirmation call: the prompts go out, the callee's
audio (low pink noise, like a quiet room) comes in through the DTMF detector.
Everything stays on 127.0.0.1.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "load-token"
CLK = os.sysconf("SC_CLK_TCK")


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    """utime + stime of a process (and its reaped children), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime, stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def api(http, method, path, body=None):
    req = urllib.request.Request(
        f"http://{http}{path}",
        data=body.encode() if body else None,
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def metrics(http):
    text = urllib.request.urlopen(f"http://{http}/metrics", timeout=30).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def read_pcap_times(path):
    """(src port, capture time) of each UDP datagram in a classic pcap (lo:
    Ethernet framing, or Linux cooked capture)."""
    data = open(path, "rb").read()
    if len(data) < 24:
        return []
    magic, = struct.unpack("<I", data[:4])
    if magic != 0xA1B2C3D4:
        raise SystemExit("unexpected pcap format")
    linktype, = struct.unpack("<I", data[20:24])
    l2 = {1: 14, 113: 16}.get(linktype)
    if l2 is None:
        raise SystemExit(f"unexpected link type {linktype}")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = pkt[l2:]
        if len(ip) < 28 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, = struct.unpack(">H", ip[ihl:ihl + 2])
        out.append((sport, sec + usec / 1e6))
    return out


def percentile(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", nargs="?", default="live", choices=["live", "setups"],
                    help="live: N calls held at once (default); setups: call setups per second")
    ap.add_argument("--rate", type=float, default=1000, help="setups: calls per second (default 1000)")
    ap.add_argument("--seconds", type=float, default=10, help="setups: seconds at --rate (default 10)")
    ap.add_argument("--calls", type=int, default=1000, help="live calls to hold (default 1000)")
    ap.add_argument("--cps", type=float, default=200, help="trunk max_cps while ramping (default 200)")
    ap.add_argument("--window", type=float, default=10, help="seconds of CPU measurement (default 10)")
    ap.add_argument("--hold", type=int, default=40,
                    help="seconds each call waits for a key after the menu (default 40)")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/orderline"))
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="orderline-load-")
    procs = []

    def cleanup(*_):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)

    try:
        return run_setups(a, work, procs) if a.mode == "setups" else run_live(a, work, procs)
    finally:
        cleanup()


def start_daemon(a, work, procs, trunk, channels, cps, calls):
    """`orderline serve` on SQLite with one trunk at SIPp's `trunk` port and
    an RTP range for `calls` calls at once; returns (process, API address)."""
    sip, http = free_port(), free_port(socket.SOCK_STREAM)
    rtp_lo = 20000
    rtp_hi = rtp_lo + 2 * calls + 200
    # The stock dialplans, with the silence timeout of --hold so calls stay up
    # through the ramp and the window.
    shutil.copytree(f"{ROOT}/dialplans", f"{work}/dialplans")
    dp = open(f"{work}/dialplans/confirm.toml").read()
    dp = re.sub(r'no_input_timeout = "[^"]*"', f'no_input_timeout = "{a.hold}s"', dp)
    open(f"{work}/dialplans/confirm.toml", "w").write(dp)
    open(f"{work}/orderline.toml", "w").write(f"""
[sip]
listen = "127.0.0.1:{sip}"
public_addr = "127.0.0.1"
rtp_ports = "{rtp_lo}-{rtp_hi}"

[[trunks]]
name = "default"
uri = "sip:127.0.0.1:{trunk}"
max_channels = {channels}
max_cps = {cps}

[http]
listen = "127.0.0.1:{http}"
api_tokens = ["{TOKEN}"]

[database]
url = "sqlite://{work}/orderline.db"

[calling]
window = "00:00-23:59"
timezone = "UTC"

[media]
prompts_dir = "{ROOT}/prompts"
dialplans_dir = "{work}/dialplans"

[log]
level = "warn"
""")
    log = open(f"{work}/orderline.log", "w")
    daemon = subprocess.Popen([a.binary, "serve", "--config", f"{work}/orderline.toml"],
                              stdout=log, stderr=subprocess.STDOUT)
    procs.append(daemon)
    h = f"127.0.0.1:{http}"
    for _ in range(100):
        try:
            metrics(h)
            return daemon, h, sip
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"orderline did not start; see {work}/orderline.log")


def run_live(a, work, procs):
    n = a.calls
    trunk, mport = free_port(), free_port()
    # The callee's audio: 120 s of quiet pink noise (no key): every call runs
    # the whole script, then waits out no_input and ends.
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "ul",
                    f"{work}/callee.ul", "synth", "120", "pinknoise", "vol", "0.02"], check=True)
    scenario = open(f"{ROOT}/tests/scenarios/callee_inband.xml").read()
    scenario = (scenario.replace("@CODEC_PT@", "0").replace("@CODEC_NAME@", "PCMU")
                .replace("@MEDIA_ACTION@", f'rtp_stream="{work}/callee.ul,1,0"'))
    open(f"{work}/callee.xml", "w").write(scenario)
    sipp = subprocess.Popen(
        ["sipp", "-sf", "callee.xml", "-i", "127.0.0.1", "-p", str(trunk), "-mi", "127.0.0.1",
         "-mp", str(mport), "-m", str(n), "-l", str(n + 50), "-nostdin", "-timeout", "600s",
         "-trace_err"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=open(f"{work}/sipp.stderr", "w"))
    procs.append(sipp)
    daemon, h, _ = start_daemon(a, work, procs, trunk, n, a.cps, n)
    rss0 = rss_kib(daemon.pid)

    def post(i):
        body = json.dumps({"id": f"load-{i:05}", "phone": f"0300{i:07}", "amount": "1000",
                           "currency": "PKR", "customer": {"kind": "new"}, "items": [],
                           "locale": "en"})
        api(h, "POST", "/v1/orders", body)

    t0 = time.time()
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(post, range(n)))
    post_s = time.time() - t0
    # Ramp: until every call is up (or no more come for 10 s).
    best, since = 0, time.time()
    while True:
        live = int(metrics(h).get("orderline_active_calls", 0))
        if live > best:
            best, since = live, time.time()
            print(f"  ramp: {live} calls up at {time.time() - t0:.1f} s", file=sys.stderr)
        if live >= n or time.time() - since > 10:
            break
        time.sleep(0.25)
    ramp_s = time.time() - t0
    time.sleep(2)  # let the last calls' prompts start

    # The window: both processes' CPU, RSS, and 5 s of our RTP at SIPp's socket.
    pcap = f"{work}/rtp.pcap"
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-s", "64", "-w", pcap, "-U",
                             f"udp and dst port {mport} and dst host 127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    live0 = int(metrics(h).get("orderline_active_calls", 0))
    c0, s0, w0 = cpu_seconds(daemon.pid), cpu_seconds(sipp.pid), time.time()
    time.sleep(a.window)
    c1, s1, w1 = cpu_seconds(daemon.pid), cpu_seconds(sipp.pid), time.time()
    live1 = int(metrics(h).get("orderline_active_calls", 0))
    rss1 = rss_kib(daemon.pid)
    dump.send_signal(signal.SIGINT)
    dump.wait(timeout=10)
    ours = (c1 - c0) / (w1 - w0)
    theirs = (s1 - s0) / (w1 - w0)
    live = min(live0, live1)

    # Send intervals per stream (one source port per call).
    by_port = {}
    for port, t in read_pcap_times(pcap):
        by_port.setdefault(port, []).append(t)
    devs = []
    for ts in by_port.values():
        devs.extend(abs((b - x) * 1000 - 20.0) for x, b in zip(ts, ts[1:]))

    # Every call to its end: the callee never keys, so each ends no_input.
    deadline = time.time() + 300
    while time.time() < deadline:
        m = metrics(h)
        done = sum(v for k, v in m.items() if k.startswith("orderline_call_attempts_total"))
        if done >= n and m.get("orderline_active_calls", 0) == 0:
            break
        time.sleep(1)
    m = metrics(h)
    results = {re.search(r'result="([^"]+)"', k).group(1): int(v)
               for k, v in m.items() if k.startswith("orderline_call_attempts_total{")}
    failed = sum(v for r, v in results.items() if r != "no_input")
    out = {
        "calls": n,
        "live_in_window": live,
        "post_s": round(post_s, 1),
        "ramp_s": round(ramp_s, 1),
        "orderline_cpu_cores": round(ours, 3),
        "sipp_cpu_cores": round(theirs, 3),
        "calls_per_core": round(live / ours) if ours > 0 else None,
        "orderline_over_sipp_cpu": round(ours / theirs, 3) if theirs > 0 else None,
        "rtp_streams_seen": len(by_port),
        "rtp_interval_dev_ms_p50": round(percentile(devs, 0.50), 3),
        "rtp_interval_dev_ms_p99": round(percentile(devs, 0.99), 3),
        "rss_per_call_kib": round((rss1 - rss0) / live, 1) if live else None,
        "results": results,
        "failed": failed,
        "failed_pct": round(100.0 * failed / n, 3),
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(f"live confirmation calls: {live} of {n} (orders posted in {out['post_s']} s; "
              f"all up {out['ramp_s']} s after the first, max_cps {a.cps})")
        print(f"  orderline CPU {ours:.3f} cores -> {out['calls_per_core']} calls per core")
        print(f"  SIPp's own CPU {theirs:.3f} cores (orderline/SIPp = {out['orderline_over_sipp_cpu']})")
        print(f"  RTP send interval |dev from 20 ms|: p50 {out['rtp_interval_dev_ms_p50']} ms, "
              f"p99 {out['rtp_interval_dev_ms_p99']} ms over {len(by_port)} streams")
        print(f"  memory per call: {out['rss_per_call_kib']} KiB (RSS growth / live calls)")
        print(f"  results: {results}; failed {failed} ({out['failed_pct']} %)")
    good = failed * 1000 <= n and live >= n * 0.99
    if not good:
        show_errors(work)
    return 0 if good else 1


def sipp_counts(path):
    """SIPp's cumulative successful and failed calls, from its -trace_stat CSV."""
    rows = [r.split(";") for r in open(path).read().splitlines() if r.strip()]
    head, last = rows[0], rows[-1]
    col = {name: i for i, name in enumerate(head)}
    return int(last[col["SuccessfulCall(C)"]]), int(last[col["FailedCall(C)"]])


def run_setups(a, work, procs):
    """SIPp calls orderline from an unknown number at --rate for --seconds;
    each call is answered (the polite message starts) and hung up 100 ms
    after the 200, so setups, not media, dominate."""
    total = int(a.rate * a.seconds)
    uac_port = free_port()
    # Calls at once: the rate times (setup + 100 ms + teardown), with room.
    at_once = int(a.rate * 2) + 100
    daemon, h, sip = start_daemon(a, work, procs, uac_port, at_once, max(a.rate, 1), at_once)
    scenario = open(f"{ROOT}/tests/scenarios/uac_short_call.xml").read()
    scenario = scenario.replace("@CALLER@", "03009999999").replace("@HOLD_MS@", "100")
    open(f"{work}/short.xml", "w").write(scenario)
    mport = free_port()
    c0, w0 = cpu_seconds(daemon.pid), time.time()
    sipp = subprocess.Popen(
        ["sipp", "-sf", "short.xml", "-i", "127.0.0.1", "-p", str(uac_port), "-mi", "127.0.0.1",
         "-mp", str(mport), "-r", str(a.rate), "-m", str(total), "-l", str(at_once),
         "-nostdin", "-timeout", str(int(a.seconds * 3 + 60)) + "s", "-trace_err",
         "-trace_stat", "-stf", "stats.csv", "-fd", "1", f"127.0.0.1:{sip}"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=open(f"{work}/sipp.stderr", "w"))
    procs.append(sipp)
    # SIPp's CPU is read just before it exits: poll until it is the only
    # thing left to do.
    s_cpu = 0.0
    while sipp.poll() is None:
        try:
            s_cpu = cpu_seconds(sipp.pid)
        except OSError:
            pass
        time.sleep(0.05)
    w1 = time.time()
    c1 = cpu_seconds(daemon.pid)
    ok, failed = sipp_counts(f"{work}/stats.csv")
    wall = w1 - w0
    ours = (c1 - c0) / wall
    theirs = s_cpu / wall
    out = {
        "mode": "setups",
        "rate": a.rate,
        "calls": total,
        "succeeded": ok,
        "failed": failed,
        "failed_pct": round(100.0 * failed / total, 3) if total else None,
        "wall_s": round(wall, 2),
        "achieved_per_s": round(ok / wall, 1),
        "orderline_cpu_cores": round(ours, 3),
        "sipp_cpu_cores": round(theirs, 3),
        "orderline_over_sipp_cpu": round(ours / theirs, 3) if theirs > 0 else None,
        "setups_per_core": round(ok / (c1 - c0)) if c1 > c0 else None,
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(f"call setups: {ok} of {total} at {a.rate}/s asked, {out['achieved_per_s']}/s over "
              f"{out['wall_s']} s; failed {failed} ({out['failed_pct']} %)")
        print(f"  orderline CPU {ours:.3f} cores -> {out['setups_per_core']} setups per core-second")
        print(f"  SIPp's own CPU {theirs:.3f} cores (orderline/SIPp = {out['orderline_over_sipp_cpu']})")
    good = failed * 1000 <= total and ok + failed == total
    if not good:
        show_errors(work)
    return 0 if good else 1


def show_errors(work):
    """The first lines of SIPp's -trace_err log and orderline's log, to stderr."""
    for name in sorted(os.listdir(work)):
        if name.endswith("_errors.log") or name == "orderline.log":
            lines = open(os.path.join(work, name), errors="replace").read().splitlines()
            print(f"--- {name} (first 30 of {len(lines)} lines)", file=sys.stderr)
            print("\n".join(lines[:30]), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
